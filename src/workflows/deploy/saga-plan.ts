// Why: what one host's saga is given (the plan for the host, the run's context) and what it
// answers; the saga, its drain and the fleet's batches share these shapes.
import type { ApprovalRule } from '../../domain/approval';
import type { OperatorControls } from '../common/operator-controls';
import type { Tell } from './notify';
import type { DeployRun } from './state';

export interface SagaPlan {
  service: string;
  host: string;
  /** The release to switch to. */
  release: string;
  /** Deploy: build it from this commit first; rollback: it exists already. */
  build?: { commit: string };
  /** Runs once, after the first build and before the first switch of the deploy. */
  beforeSwitch?: () => Promise<void>;
  health: { attempts: number; interval: number };
  drainTimeout: number;
}

export interface SagaContext {
  run: DeployRun;
  controls: OperatorControls;
  /** Who answers the run's approvals (its batches' and a stuck drain's); none: one person, anyone. */
  approvalRule?: ApprovalRule;
  show: () => void;
  tell: Tell;
}

/** `flapping`: the host's release passed and then failed its health check (the fleet stops whatever the budget). */
export type SagaOutcome = { ok: true } | { ok: false; error: string; flapping: boolean };

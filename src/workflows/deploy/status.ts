// Why: the shapes a deploy shows the world (the `status` query, the result, the state carried
// across continue-as-new) are part of its contract with the CLI, tests and running histories; they
// sit apart from the code that fills them.
import type { Actor, ApprovalProgress, OperatorCarry } from '../common/operator-carry';

export type HostState =
  | 'pending'
  | 'building'
  | 'draining'
  | 'drain-stuck'
  | 'switching'
  | 'checking'
  | 'done'
  | 'compensating'
  | 'rolled-back'
  | 'compensation-failed';

export interface HostStatus {
  state: HostState;
  /** The release the host is meant to run after this run. */
  release?: string;
  /** Where `current` pointed before this run switched it. */
  previous?: string;
  /** Why it failed, in words. */
  error?: string;
  /** The step it failed at ("build", "migrate", "health check", …). */
  step?: string;
}

export type DeployPhase =
  | 'resolving'
  | 'migrating'
  | 'deploying'
  | 'awaiting-approval'
  | 'paused'
  | 'pruning'
  | 'rolling-back-fleet'
  | 'done'
  | 'stopped'
  | 'failed'
  | 'cancelled';

export interface DeployStatus {
  kind: 'deploy' | 'rollback';
  service: string;
  ref?: string;
  commit?: string;
  release?: string;
  phase: DeployPhase;
  batches: string[][];
  /** 1-based batch under way (0 before the first). */
  batch: number;
  hosts: Record<string, HostStatus>;
  migrations: 'none' | 'pending' | 'ran';
  failures: { fleet: number; budget: { batch: number; fleet: number } };
  stopReason?: string;
  /** What the run waits for a person's approve of ("batch 2/3"), while it waits. */
  awaitingApproval?: string;
  /** While a batch approval under `approvalRule` is awaited: who has approved so far, of how many. */
  approvals?: ApprovalProgress;
  /** An operator paused the run: no next batch starts until resumed (the batch under way finishes). */
  paused?: boolean;
  /** Who paused it and when, while paused. */
  pausedBy?: Actor;
  /**
   * Runs this deploy or rollback has taken so far (1, plus one per continue-as-new): the hosts,
   * failures and log are the totals across all of them.
   */
  runs: number;
  log: string[];
}

/**
 * What a deploy or rollback hands to its continued run between batches: the whole status (hosts'
 * states and releases, the resolved commit and release name, migrations done, failures against the
 * budget, the decision log), the batch to start with and the operator's say. Plain data, so it
 * crosses continue-as-new as is.
 */
export interface DeployCarry {
  status: DeployStatus;
  /** 0-based index of the next batch to run. */
  nextBatch: number;
  operator: OperatorCarry;
  /**
   * A rollback's target per host, found once before its first batch: looked up again after some
   * hosts switched, "the previous complete release" would be a different (older) one.
   */
  targets?: Record<string, string>;
  /** A deploy stopped and rolling its upgraded hosts back (`rollbackFleetOnFailure`): the continued run does only that. */
  fleetRollback?: FleetRollback;
}

/**
 * The fleet rollback of a stopped deploy: why it stopped (the run's failure names it), each
 * upgraded host with the release it goes back to, in order, and the hosts already through the
 * rollback saga. The targets are taken once when the deploy stops: a host's rollback saga
 * overwrites its `previous`, so they could not be read from the hosts again in a continued run.
 */
export interface FleetRollback {
  reason: string;
  targets: { host: string; release: string }[];
  /** Hosts whose rollback saga has ended (whatever its outcome): never taken back again. */
  done: string[];
}

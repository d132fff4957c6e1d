// Why: the shapes a rollout shows the world (status query, result, carried state) are part of its
// contract with the CLI, tests and running histories; they sit apart from the rules that change
// them (state.ts), with the first status and the result a run builds from its last.
import type { Sample, Verdict } from '../../domain/gate/evaluate';
import { zeroCounters, type GateCounters } from '../../domain/gate/policy';
import type { PhasedRolloutInput, RolloutPlan } from '../../domain/rollout/input';
import type { ResolvedBaselineGate } from '../../domain/baseline/gate';
import type { Abort, Actor, ApprovalProgress, OperatorCarry, PendingApproval } from '../common/operator-carry';

export type RolloutState =
  | 'planning'
  | 'awaiting-approval'
  | 'shifting'
  | 'monitoring'
  | 'held'
  | 'rolling-back'
  | 'cleaning-up'
  | 'succeeded'
  | 'rolled-back'
  | 'aborted'
  | 'dry-run-done'
  /** The rollback itself failed: the LB may still send traffic to the new backend. */
  | 'rollback-failed'
  | 'failed'
  | 'cancelled';

/**
 * States a run ends in on its own (or that its own handling already set, e.g. a rollback that
 * failed and said so); any other state at the end means it was cut short.
 */
export const endStates: readonly RolloutState[] = [
  'succeeded',
  'rolled-back',
  'aborted',
  'dry-run-done',
  'rollback-failed',
  'failed',
  'cancelled',
];

interface SampleRecord {
  step: number;
  n: number;
  at: string;
  verdict: Verdict;
  summary: string;
  sample: Sample;
}

export interface Decision {
  at: string;
  step: number;
  decision: string;
}

export interface RolloutStatus {
  service: string;
  lb: string;
  backends: { old: string; new: string };
  dryRun: boolean;
  state: RolloutState;
  /** 1-based; 0 before the first step. */
  step: number;
  steps: { weight: number; windowMs: number; targetUsers?: string[] }[];
  /** What the LB last read back. */
  weights?: { newPercent: number; weights: Record<string, number>; targetUsers?: string[] };
  window?: { step: number; startedAt: string; samplesTaken: number; samplesPlanned: number; intervalMs: number };
  /** When the run entered `state` (workflow time). */
  since?: string;
  /** The window goes on sampling while paused, but the run moves to no next step until resumed. */
  paused: boolean;
  /** Who paused the run and when, while it is paused. */
  pausedBy?: Actor;
  awaitingApproval?: number;
  /** While a step waits under a rule of several approvers or forbidding the starter: who approved so far, of how many. */
  approvals?: ApprovalProgress;
  approved: number[];
  counters: GateCounters;
  lastSamples: SampleRecord[];
  decisions: Decision[];
  plan?: RolloutPlan;
  /**
   * A gate taken from a baseline: its thresholds, where each came from and when the baseline was
   * taken. Resolved once when the run plans and carried with the status, so fixed for the run.
   */
  gateFrom?: ResolvedBaselineGate;
  /** Dry run: every action the rollout would have taken. */
  actions: string[];
  /** Why a run that did not succeed ended, in words. */
  failure?: string;
}

export interface RolloutResult {
  service: string;
  outcome: 'succeeded' | 'dry-run';
  stepsCompleted: number;
  finalSplit?: RolloutStatus['weights'];
  oldBackend: string;
  cleanup: string;
  decisions: Decision[];
  actions: string[];
}

/** State carried across continue-as-new: where in which window, and what people decided. */
export interface RolloutCarry {
  stepIndex: number;
  samplesTaken: number;
  windowStartedAt: string;
  status: RolloutStatus;
  /** Signals received but not yet acted on: approvals of later steps, an abort. */
  pendingApprovals?: PendingApproval[];
  aborted?: Abort;
  /** Who paused and approved, when, and the last step waited on: for "already … at …" refusals. */
  operator?: Omit<OperatorCarry, 'paused' | 'pendingApprovals' | 'aborted'>;
}

/** A run before its plan: nothing shifted, nothing sampled. */
export function initialStatus(input: PhasedRolloutInput): RolloutStatus {
  return {
    service: input.service,
    lb: input.lb,
    backends: input.backends,
    dryRun: input.dryRun,
    state: 'planning',
    step: 0,
    steps: input.steps.map((step) => ({
      weight: step.weight,
      windowMs: step.window,
      ...(step.targetUsers ? { targetUsers: step.targetUsers } : {}),
    })),
    paused: false,
    approved: [],
    counters: zeroCounters,
    lastSamples: [],
    decisions: [],
    actions: [],
  };
}

/** What a run that got through all its steps (or a dry run) returns. */
export function rolloutResult(
  input: PhasedRolloutInput,
  status: RolloutStatus,
  outcome: RolloutResult['outcome'],
): RolloutResult {
  return {
    service: input.service,
    outcome,
    stepsCompleted: status.step,
    finalSplit: status.weights,
    oldBackend: input.backends.old,
    cleanup: input.cleanup,
    decisions: status.decisions,
    actions: status.actions,
  };
}

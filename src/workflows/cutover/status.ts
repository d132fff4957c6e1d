// Why: the shapes a cutover shows the world (status query, carried state, the reschedule and skip
// requests) are part of its contract with the CLI, tests and running histories; they sit apart from
// the rules that fill them (state.ts).
import type { ResolvedBaselineGate } from '../../domain/baseline/gate';
import type { GateCounters } from '../../domain/gate/policy';
import type { ApprovalProgress, OperatorCarry } from '../common/operator-controls';

export type BatchState =
  | 'scheduled'
  | 'waiting'
  | 'listing'
  | 'routing'
  | 'monitoring'
  | 'held'
  | 'moved'
  | 'rolling-back'
  | 'rolled-back'
  | 'skipped'
  | 'not-started'
  | 'failed';
export type CutoverState =
  | 'scheduled'
  | 'waiting'
  | 'moving'
  | 'monitoring'
  | 'held'
  | 'rolling-back'
  | 'completed'
  | 'rolled-back'
  | 'aborted'
  | 'failed';
/** The states a cutover ends in: a pause no longer holds it. */
export const cutoverEndStates: readonly CutoverState[] = ['completed', 'rolled-back', 'aborted', 'failed'];

interface BatchStatus {
  name: string;
  cohort: string;
  state: BatchState;
  /** The requested start (ISO), after any reschedule. */
  startAt: string;
  startedAt?: string;
  endedAt?: string;
  /** Members in the snapshot; `listed - members` were moved by an earlier batch. */
  members?: number;
  listed?: number;
  moved?: number;
  restored?: number;
  samplesTaken: number;
  samplesPlanned: number;
  note?: string;
}

export interface CutoverStatus {
  service: string;
  state: CutoverState;
  /** Index of the batch being worked on (waiting, moving or watched). */
  current?: number;
  batches: BatchStatus[];
  /** When the next batch starts (ISO), while one waits. */
  nextStartAt?: string;
  paused: boolean;
  /** While a batch waits under a rule of several approvers or forbidding the starter: who approved so far, of how many. */
  approvals?: ApprovalProgress;
  /** Who paused the run and when, while it is paused. */
  pausedBy?: { by?: string; at?: string };
  /** The 1-based batch whose approval the run waits for. */
  awaitingApproval?: number;
  counters: GateCounters;
  /** `early`: why the sample's watch ended before its interval did (the conclusive failure). */
  lastSamples: { batch: string; k: number; at: string; summary: string; early?: string }[];
  decisions: { at: string; text: string }[];
  /** Thresholds taken from baselines at the start, fixed for the run: one per distinct reference, with the batches it judges. */
  thresholdsFrom?: (ResolvedBaselineGate & { ref: string; batches: string[] })[];
  failure?: string;
}

/** What crosses continue-as-new: plain data. */
export interface CutoverCarry {
  originMs: number;
  runKey: string;
  status: CutoverStatus;
  operator: OperatorCarry;
  abortAll: boolean;
  lastEndMs?: number;
  /** Mid-window: the batch and how far its window got. */
  window?: { batch: number; samplesTaken: number };
}

/** What `reschedule` and `skip` carry: the batch by name or 1-based number. */
export interface BatchSignal {
  batch: string | number;
  startAt?: string;
  by?: string;
}

// Why: every long run answers the same operator signals (approve, pause/resume, abort with who and
// why); their definitions, their state and the waits on them live here once, so a new workflow
// wires them in one call instead of copying handlers.
import * as wf from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';

/**
 * What an operator sends with a signal; every field optional, so the rollout's `{ step, by }`, the
 * incident's approve (a runbook step id) and the migration's bare pause/resume all fit.
 */
export interface OperatorInput {
  by?: string;
  reason?: string;
  /** The step approved: a 1-based step number, or a step id. */
  step?: number | string;
  action?: string;
  /** A cutover's abort: restore every batch moved so far, not only the one in flight. */
  all?: boolean;
}

export const approveSignal = wf.defineSignal<[OperatorInput?]>('approve');
export const pauseSignal = wf.defineSignal<[OperatorInput?]>('pause');
export const resumeSignal = wf.defineSignal<[OperatorInput?]>('resume');
export const abortSignal = wf.defineSignal<[OperatorInput?]>('abort');

export type OperatorSignal = 'approve' | 'pause' | 'resume' | 'abort';
/** The order handlers are installed in: signals buffered before then are delivered in this order. */
const signalOrder: OperatorSignal[] = ['approve', 'pause', 'resume', 'abort'];
const definitions = { approve: approveSignal, pause: pauseSignal, resume: resumeSignal, abort: abortSignal };

/** An approve not yet used: for a named step, or (no step) for whichever step waits next. */
export interface PendingApproval {
  step?: number | string;
}

export interface Abort {
  reason: string;
  by?: string;
}

/** What crosses continue-as-new; plain data. */
export interface OperatorCarry {
  paused: boolean;
  pendingApprovals: PendingApproval[];
  aborted?: Abort;
}

/** What a signal did, with words for a decision log. */
export interface OperatorEvent {
  signal: OperatorSignal;
  input: OperatorInput;
  text: string;
}

const byWord = (prefix: string, by?: string) => (by ? ` ${prefix} ${by}` : '');

/**
 * The operator's say over a run: paused or not, approvals waiting to be used, the abort (the first
 * one counts). Transitions are pure; `install` and the waits are the only Temporal calls.
 */
export class OperatorControls {
  private state: OperatorCarry;
  /** A resume since the last `waitForResume` began; not carried (a new run is not waiting). */
  private resumed = false;

  constructor(carried?: Partial<OperatorCarry>) {
    this.state = { paused: carried?.paused ?? false, pendingApprovals: [...(carried?.pendingApprovals ?? [])], ...(carried?.aborted ? { aborted: carried.aborted } : {}) };
  }

  get paused(): boolean {
    return this.state.paused;
  }
  get aborted(): Abort | undefined {
    return this.state.aborted;
  }
  get pendingApprovals(): readonly PendingApproval[] {
    return this.state.pendingApprovals;
  }
  get resumeRequested(): boolean {
    return this.resumed;
  }

  // ---- pure transitions: one per signal ----
  approve(input: OperatorInput = {}): OperatorEvent {
    this.state.pendingApprovals.push({ step: input.step });
    return { signal: 'approve', input, text: `approve received${input.step ? ` for step ${input.step}` : ''}${byWord('from', input.by)}` };
  }
  pause(input: OperatorInput = {}): OperatorEvent {
    this.state.paused = true;
    return { signal: 'pause', input, text: `paused${byWord('by', input.by)}${input.reason ? `: ${input.reason}` : ''}` };
  }
  resume(input: OperatorInput = {}): OperatorEvent {
    this.state.paused = false;
    this.resumed = true;
    return { signal: 'resume', input, text: `resumed${byWord('by', input.by)}` };
  }
  abort(input: OperatorInput = {}): OperatorEvent {
    this.state.aborted ??= { reason: input.reason ?? 'no reason given', by: input.by };
    return { signal: 'abort', input, text: `abort received${byWord('from', input.by)}: ${this.state.aborted.reason}` };
  }
  apply(signal: OperatorSignal, input?: OperatorInput): OperatorEvent {
    return this[signal](input ?? {});
  }

  /** The abort in words ("aborted by ann before step 2/3 (50 %): bad metrics"), if one came. */
  abortMessage(where: string): string | undefined {
    const a = this.state.aborted;
    return a && `aborted${byWord('by', a.by)} ${where}: ${a.reason}`;
  }

  // ---- numbered steps' approvals ----
  /** An approve for `step` is waiting: one naming it, or a bare one. */
  hasApprovalFor(step: number): boolean {
    return this.state.pendingApprovals.some((a) => isFor(a, step));
  }
  /**
   * Drops what was sent before `step`'s wait and is not for a later step: an approve naming a later
   * step still counts when that step comes; a bare one is for a step that is waiting, not the next.
   */
  discardApprovalsBefore(step: number): void {
    this.state.pendingApprovals = this.state.pendingApprovals.filter((a) => a.step !== undefined && (a.step as number) > step - 1);
  }
  /** How a wait for `step`'s approval ends now: an abort wins; undefined while it must go on. */
  approvalOutcome(step: number, alreadyApproved = false): 'approved' | 'aborted' | undefined {
    if (this.state.aborted) return 'aborted';
    return this.hasApprovalFor(step) || alreadyApproved ? 'approved' : undefined;
  }
  /** Uses up every approve that was for `step`. */
  consumeApprovalsFor(step: number): void {
    this.state.pendingApprovals = this.state.pendingApprovals.filter((a) => !isFor(a, step));
  }

  // ---- a wait for a person to resume (a hold) ----
  /** From now on only a new resume (or an abort) ends the wait. */
  expectResume(): void {
    this.resumed = false;
  }
  get resumeWaitOver(): boolean {
    return this.resumed || this.state.aborted !== undefined;
  }

  carry(): OperatorCarry {
    return { paused: this.state.paused, pendingApprovals: [...this.state.pendingApprovals], ...(this.state.aborted ? { aborted: { ...this.state.aborted } } : {}) };
  }

  // ---- Temporal: handlers and waits ----
  /**
   * Sets the handlers of the signals named (always in the order approve, pause, resume, abort);
   * `onEvent` runs after each transition (log it, refresh the details).
   */
  install(which: OperatorSignal[], onEvent: (event: OperatorEvent) => void): void {
    for (const signal of signalOrder.filter((s) => which.includes(s))) {
      wf.setHandler(definitions[signal], (input?: OperatorInput) => onEvent(this.apply(signal, input)));
    }
  }

  /** Returns once not paused (at once when not paused). */
  async waitWhilePaused(): Promise<void> {
    await wf.condition(() => !this.state.paused);
  }

  /**
   * Waits for an approve of `step` (or `alreadyApproved()`), or an abort. On an approve it is used
   * up and 'approved' returned; on an abort nothing is used and 'aborted' returned.
   */
  async takeApproval(step: number, alreadyApproved: () => boolean = () => false): Promise<'approved' | 'aborted'> {
    this.discardApprovalsBefore(step);
    await wf.condition(() => this.approvalOutcome(step, alreadyApproved()) !== undefined);
    const outcome = this.approvalOutcome(step, alreadyApproved())!;
    if (outcome === 'approved') this.consumeApprovalsFor(step);
    return outcome;
  }

  /** Waits up to `timeout` for a resume sent from now on, or an abort; false when time ran out. */
  async waitForResume(timeout: Duration, options: wf.TimerOptions = {}): Promise<boolean> {
    this.expectResume();
    return wf.condition(() => this.resumeWaitOver, timeout, options);
  }
}

/**
 * The sentence a run stopped at a step ends with: `<subject> <verb> at <where>: <why>`. A person's
 * stop (an abort, in `abortMessage`'s words, or a cancellation) already says who, where and why,
 * so it follows the subject as it is: wrapping it again read "aborted at step 1/2 (20 %): aborted
 * by a3 at step 1/2 (20 %): …".
 */
export function stopSentence(subject: string, stop: { kind: string; message: string }, verb: string, where: string, why = stop.message): string {
  return stop.kind === 'abort' || stop.kind === 'cancel' ? `${subject} ${stop.message}` : `${subject} ${verb} at ${where}: ${why}`;
}

function isFor(a: PendingApproval, step: number): boolean {
  return a.step === undefined || a.step === step;
}

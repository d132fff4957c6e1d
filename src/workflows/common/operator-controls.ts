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
  /** When it was decided (workflow time, ISO); set by the handler, not the sender. */
  at?: string;
}

export const approveSignal = wf.defineSignal<[OperatorInput?]>('approve');
export const pauseSignal = wf.defineSignal<[OperatorInput?]>('pause');
export const resumeSignal = wf.defineSignal<[OperatorInput?]>('resume');
export const abortSignal = wf.defineSignal<[OperatorInput?]>('abort');

/**
 * The same actions as Updates: the caller is told the run's status, or why the action was refused
 * (the validator runs before anything is written to history). The signal form stays fire-and-forget.
 */
export const approveUpdate = wf.defineUpdate<unknown, [OperatorInput]>('approve');
export const pauseUpdate = wf.defineUpdate<unknown, [OperatorInput]>('pause');
export const resumeUpdate = wf.defineUpdate<unknown, [OperatorInput]>('resume');
export const abortUpdate = wf.defineUpdate<unknown, [OperatorInput]>('abort');
export const operatorUpdates = { approve: approveUpdate, pause: pauseUpdate, resume: resumeUpdate, abort: abortUpdate };

export type OperatorSignal = 'approve' | 'pause' | 'resume' | 'abort';
export const operatorSignalNames: readonly OperatorSignal[] = ['approve', 'pause', 'resume', 'abort'];
/** The order handlers are installed in: signals buffered before then are delivered in this order. */
const signalOrder: OperatorSignal[] = ['approve', 'pause', 'resume', 'abort'];
export const operatorSignals = { approve: approveSignal, pause: pauseSignal, resume: resumeSignal, abort: abortSignal };
const definitions = operatorSignals;

/** An approve not yet used: for a named step, or (no step) for whichever step waits next. */
export interface PendingApproval {
  step?: number | string;
}

export interface Abort {
  reason: string;
  by?: string;
  at?: string;
}

/** Who did something and when (workflow time). */
export interface Actor {
  by?: string;
  at?: string;
}

/** An approve as it was given: the step it was for (resolved when one was awaited), who, when. */
export interface ApprovalRecord extends Actor {
  step?: number | string;
}

/** How many approvals are remembered for "already approved by …" (the newest). */
const MAX_APPROVAL_RECORDS = 20;

/** What crosses continue-as-new; plain data. */
export interface OperatorCarry {
  paused: boolean;
  pendingApprovals: PendingApproval[];
  aborted?: Abort;
  /** Who paused, when (while paused). */
  pausedBy?: Actor;
  /** The approvals given, newest last (bounded). */
  approvals?: ApprovalRecord[];
  /** The last step whose approval wait ended: an approve naming it (or an earlier one) is late. */
  lastAwaited?: number | string;
}

/** What the validators look at: the controls' state, the wait in progress, the run's state word. */
export interface ControlsView extends OperatorCarry {
  /** The step whose approval is awaited now. */
  awaiting?: number | string;
  /** A hold is waiting for a resume. */
  held: boolean;
  /** The run's state, for the refusal's words ("monitoring"). */
  state?: string;
}

const actorWords = (a: Actor | undefined) => `${a?.by ? ` by ${a.by}` : ''}${a?.at ? ` at ${a.at}` : ''}`;
const stateWords = (state?: string) => (state ? ` (state: ${state})` : '');
const isLater = (step: number | string, last?: number | string) =>
  last === undefined ? true : typeof step === 'number' && typeof last === 'number' ? step > last : step !== last;

/**
 * Why `action` with `input` is refused now, or undefined when it is accepted. Pure: the Update's
 * validator, so a refusal never reaches history.
 */
export function refusal(action: OperatorSignal, input: OperatorInput, view: ControlsView): string | undefined {
  const aborted = view.aborted;
  const abortedWords = aborted && `already aborted${actorWords(aborted)}: ${aborted.reason}`;
  switch (action) {
    case 'approve': {
      if (abortedWords) return abortedWords;
      const step = input.step ?? view.awaiting;
      const same = step !== undefined && (view.approvals ?? []).find((a) => a.step === step && a.by === input.by);
      if (same) return `step ${step} already approved${actorWords(same)}`;
      if (view.awaiting === undefined) {
        if (input.step === undefined || !isLater(input.step, view.lastAwaited)) return `not waiting for approval${stateWords(view.state)}`;
      } else if (typeof input.step === 'number' && typeof view.awaiting === 'number' && input.step < view.awaiting) {
        return `step ${input.step} is past: waiting for approval of step ${view.awaiting}`;
      }
      return undefined;
    }
    case 'pause':
      if (abortedWords) return abortedWords;
      return view.paused ? `already paused${actorWords(view.pausedBy)}` : undefined;
    case 'resume':
      if (abortedWords) return abortedWords;
      return view.paused || view.held ? undefined : `not paused and not held${stateWords(view.state)}`;
    case 'abort':
      return abortedWords;
  }
}

/** The words of a signal no handler knows, for the run's decisions. */
export function ignoredSignalText(name: string, workflowType: string, known: readonly string[]): string {
  return `ignored signal "${name}": not a signal of ${workflowType} (known: ${known.join(', ')})`;
}

/** What `install` may be given besides the callback. */
export interface InstallOptions {
  /** The run's status: an Update answers with it; its `state` names the state in a refusal. */
  status?: () => unknown;
}

/** What a signal did, with words for a decision log. */
export interface OperatorEvent {
  signal: OperatorSignal;
  input: OperatorInput;
  text: string;
}

const byWord = (prefix: string, by?: string, at?: string) => `${by ? ` ${prefix} ${by}` : ''}${at ? ` at ${at}` : ''}`;

/**
 * The operator's say over a run: paused or not, approvals waiting to be used, the abort (the first
 * one counts). Transitions are pure; `install` and the waits are the only Temporal calls.
 */
export class OperatorControls {
  private state: OperatorCarry;
  /** A resume since the last `waitForResume` began; not carried (a new run is not waiting). */
  private resumed = false;
  /** The step whose approval `takeApproval` waits for now; not carried (a new run waits anew). */
  private awaiting?: number;
  /** `waitForResume` is waiting. */
  private holding = false;
  private statusOf: () => unknown = () => undefined;

  constructor(carried?: Partial<OperatorCarry>) {
    this.state = {
      paused: carried?.paused ?? false,
      pendingApprovals: [...(carried?.pendingApprovals ?? [])],
      ...(carried?.aborted ? { aborted: carried.aborted } : {}),
      ...(carried?.pausedBy ? { pausedBy: carried.pausedBy } : {}),
      ...(carried?.approvals ? { approvals: [...carried.approvals] } : {}),
      ...(carried?.lastAwaited !== undefined ? { lastAwaited: carried.lastAwaited } : {}),
    };
  }

  /** What the validators see now. */
  view(): ControlsView {
    // A migration says its `phase`; the others their `state`.
    const status = this.statusOf() as { state?: unknown; phase?: unknown } | undefined;
    const state = status?.state ?? status?.phase;
    return { ...this.carry(), awaiting: this.awaiting, held: this.holding, ...(typeof state === 'string' ? { state } : {}) };
  }
  /** Why `action` is refused now, or undefined. */
  refusal(action: OperatorSignal, input: OperatorInput = {}): string | undefined {
    return refusal(action, input, this.view());
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
  approve(input: OperatorInput = {}, at = input.at): OperatorEvent {
    this.state.pendingApprovals.push({ step: input.step });
    const record: ApprovalRecord = { step: input.step ?? this.awaiting, ...(input.by ? { by: input.by } : {}), ...(at ? { at } : {}) };
    this.state.approvals = [...(this.state.approvals ?? []), record].slice(-MAX_APPROVAL_RECORDS);
    return { signal: 'approve', input, text: `approve received${input.step ? ` for step ${input.step}` : ''}${byWord('from', input.by, input.at)}` };
  }
  pause(input: OperatorInput = {}, at = input.at): OperatorEvent {
    if (!this.state.paused) this.state.pausedBy = { ...(input.by ? { by: input.by } : {}), ...(at ? { at } : {}) };
    this.state.paused = true;
    return { signal: 'pause', input, text: `paused${byWord('by', input.by, input.at)}${input.reason ? `: ${input.reason}` : ''}` };
  }
  resume(input: OperatorInput = {}, at = input.at): OperatorEvent {
    this.state.paused = false;
    delete this.state.pausedBy;
    this.resumed = true;
    return { signal: 'resume', input, text: `resumed${byWord('by', input.by, input.at)}` };
  }
  abort(input: OperatorInput = {}, at = input.at): OperatorEvent {
    this.state.aborted ??= { reason: input.reason ?? 'no reason given', by: input.by, ...(at ? { at } : {}) };
    return { signal: 'abort', input, text: `abort received${byWord('from', input.by, input.at)}: ${this.state.aborted.reason}` };
  }
  /** `at` is kept in the state; the decision's words say it only when `input.at` is set (an Update). */
  apply(signal: OperatorSignal, input?: OperatorInput, at?: string): OperatorEvent {
    return this[signal](input ?? {}, at ?? input?.at);
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
    const s = this.state;
    return {
      paused: s.paused,
      pendingApprovals: [...s.pendingApprovals],
      ...(s.aborted ? { aborted: { ...s.aborted } } : {}),
      ...(s.pausedBy ? { pausedBy: { ...s.pausedBy } } : {}),
      ...(s.approvals ? { approvals: s.approvals.map((a) => ({ ...a })) } : {}),
      ...(s.lastAwaited !== undefined ? { lastAwaited: s.lastAwaited } : {}),
    };
  }

  // ---- Temporal: handlers and waits ----
  /**
   * Sets the handlers of the signals named (always in the order approve, pause, resume, abort);
   * `onEvent` runs after each transition (log it, refresh the details).
   */
  install(which: OperatorSignal[], onEvent: (event: OperatorEvent) => void, options: InstallOptions = {}): void {
    if (options.status) this.statusOf = options.status;
    for (const signal of signalOrder.filter((s) => which.includes(s))) {
      // The signal's words stay as they were (its decision entry has its own time).
      wf.setHandler(definitions[signal], (input?: OperatorInput) => onEvent(this.apply(signal, { ...(input ?? {}), at: undefined }, now())));
      // The Update form: refused (with why) before history, else the same transition, answered with the status.
      wf.setHandler(
        operatorUpdates[signal],
        async (input?: OperatorInput) => {
          const waited = this.awaiting;
          onEvent(this.apply(signal, { ...(input ?? {}), at: now() }));
          // The approve of the step waited for: answer once the run has taken it, with the state it moved to.
          if (signal === 'approve' && waited !== undefined && (input?.step ?? waited) === waited) await wf.condition(() => this.awaiting !== waited);
          return this.statusOf();
        },
        {
          validator: (input?: OperatorInput) => {
            const why = this.refusal(signal, input ?? {});
            if (why) throw new Error(why);
          },
        },
      );
    }
  }

  /**
   * A signal no handler knows is written down (`note`) instead of waiting unseen forever. Call it
   * after every handler of the run is set: a signal buffered before then goes to its own handler.
   * `note` must only change in-memory state (no command), so histories recorded before replay.
   * `known` is every signal the run answers.
   */
  reportUnknownSignals(known: readonly string[], note: (text: string) => void): void {
    reportUnknownSignals(known, note);
  }

  /** Returns once not paused (at once when not paused). */
  async waitWhilePaused(): Promise<void> {
    await wf.condition(() => !this.state.paused);
  }

  /**
   * Waits for an approve of `step` (or `alreadyApproved()`), or an abort. On an approve it is used
   * up and 'approved' returned; on an abort nothing is used and 'aborted' returned. A `summary`
   * (what is awaited and the command that approves it) shows the wait in the Web UI's timeline.
   */
  async takeApproval(step: number, alreadyApproved: () => boolean = () => false, summary?: string): Promise<'approved' | 'aborted'> {
    this.discardApprovalsBefore(step);
    this.awaiting = step;
    try {
      await shownWait(() => this.approvalOutcome(step, alreadyApproved()) !== undefined, summary);
    } finally {
      this.awaiting = undefined;
      this.state.lastAwaited = step;
    }
    const outcome = this.approvalOutcome(step, alreadyApproved())!;
    if (outcome === 'approved') this.consumeApprovalsFor(step);
    return outcome;
  }

  /** Waits up to `timeout` for a resume sent from now on, or an abort; false when time ran out. */
  async waitForResume(timeout: Duration, options: wf.TimerOptions = {}): Promise<boolean> {
    this.expectResume();
    this.holding = true;
    try {
      return await wf.condition(() => this.resumeWaitOver, timeout, options);
    } finally {
      this.holding = false;
    }
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

/** `OperatorControls.reportUnknownSignals` for a run whose actions are wired another way (go-live). */
export function reportUnknownSignals(known: readonly string[], note: (text: string) => void): void {
  const type = wf.workflowInfo().workflowType;
  wf.setDefaultSignalHandler((name: string) => note(ignoredSignalText(name, type, known)));
}

/** Patch id: runs recorded before approval waits showed in the timeline waited on no timer. */
export const APPROVAL_WAIT_TIMER = 'operator-approval-wait-timer';
/** The shown wait's timer only renews itself; it never ends the wait. */
const SHOWN_WAIT_PERIOD = '7 days';

/**
 * Waits for `done`. A condition alone leaves nothing in the Web UI's timeline, so with a summary
 * the wait sits on a timer that carries it (renewed until `done`); a wait already over starts none.
 */
async function shownWait(done: () => boolean, summary?: string): Promise<void> {
  if (summary === undefined || done() || !wf.patched(APPROVAL_WAIT_TIMER)) return wf.condition(done);
  while (!(await wf.condition(done, SHOWN_WAIT_PERIOD, { summary }))) {
    // the period ran out with nobody deciding: the same wait goes on, still shown
  }
}

/** Workflow time: a sender's own `at` is not trusted. */
const now = () => new Date().toISOString();

function isFor(a: PendingApproval, step: number): boolean {
  return a.step === undefined || a.step === step;
}

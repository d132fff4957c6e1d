// Why: every long run answers the same operator signals (approve, pause/resume, abort with who and
// why); their definitions, their state and the waits on them live here once, so a new workflow
// wires them in one call instead of copying handlers.
import * as wf from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { STARTED_BY_MEMO, type ApprovalRule } from '../../domain/approval';
import {
  abortSignal,
  abortUpdate,
  approveSignal,
  approveUpdate,
  pauseSignal,
  pauseUpdate,
  resumeSignal,
  resumeUpdate,
  type OperatorInput,
} from './messages';

export { abortSignal, pauseSignal, type OperatorInput };
const operatorUpdates = { approve: approveUpdate, pause: pauseUpdate, resume: resumeUpdate, abort: abortUpdate };

export type OperatorSignal = 'approve' | 'pause' | 'resume' | 'abort';
/** The order handlers are installed in: signals buffered before then are delivered in this order. */
const signalOrder: OperatorSignal[] = ['approve', 'pause', 'resume', 'abort'];
export const operatorSignals = { approve: approveSignal, pause: pauseSignal, resume: resumeSignal, abort: abortSignal };
const definitions = operatorSignals;

/** An approve not yet used: for a named step, or (no step) for whichever step waits next. */
export interface PendingApproval {
  step?: number | string;
  /** Who gave it: a rule of N approvers counts distinct people. */
  by?: string;
}

export interface Abort {
  reason: string;
  by?: string;
  at?: string;
}

/** An approval awaited under a rule: the step, how many people it needs, who approved so far, who may not. */
export interface ApprovalProgress {
  /** A batch or step number, or a named wait (a deploy's stuck drain: "drain-h1"). */
  step: number | string;
  needed: number;
  approvedBy: string[];
  /** The starter, when the rule forbids them. */
  forbidStarter?: string;
}

/** Who did something and when (workflow time). */
export interface Actor {
  by?: string;
  at?: string;
}

/** An approve as it was given: the step it was for (resolved when one was awaited), who, when. */
interface ApprovalRecord extends Actor {
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
  /** Who started the run (its memo), kept here so a continued run still knows. */
  startedBy?: string;
}

/** What the validators look at: the controls' state, the wait in progress, the run's state word. */
export interface ControlsView extends OperatorCarry {
  /** The step whose approval is awaited now. */
  awaiting?: number | string;
  /** A hold is waiting for a resume. */
  held: boolean;
  /** The run's state, for the refusal's words ("monitoring"). */
  state?: string;
  /** The rule of the approval awaited now (none: one person, anyone). */
  rule?: ApprovalRule;
}

/** The people who approved `step` and count under `rule` (distinct; the starter and the unnamed not, when it forbids the starter). */
export function approversOf(
  pending: readonly PendingApproval[],
  step: number | string,
  rule?: ApprovalRule,
  startedBy?: string,
): string[] {
  const people = new Set<string>();
  for (const a of pending) {
    if (a.step !== undefined && a.step !== step) continue;
    if (rule?.forbidStarter && (!a.by || a.by === startedBy)) continue;
    people.add(a.by ?? '');
  }
  return [...people];
}

/** "approved so far: alice (1 of 2)" for a rule of more than one person; "" otherwise. */
function soFarWords(view: ControlsView, step: number | string): string {
  const rule = view.rule;
  if (!rule || (rule.approvers <= 1 && !rule.forbidStarter)) return '';
  const people = approversOf(view.pendingApprovals, step, rule, view.startedBy).filter(Boolean);
  return `; approved so far: ${people.length ? people.join(', ') : 'nobody'} (${people.length} of ${rule.approvers})`;
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
      const ruled = step !== undefined && step === view.awaiting ? view.rule : undefined;
      const soFar = ruled && step !== undefined ? soFarWords(view, step) : '';
      if (ruled?.forbidStarter && !input.by)
        return `by: who approves must be named: step ${step} may not be approved by the person who started the run${soFar}`;
      if (ruled?.forbidStarter && input.by === view.startedBy)
        return `${input.by} started this run and may not approve step ${step} (forbidStarter)${soFar}`;
      const same = step !== undefined && (view.approvals ?? []).find((a) => a.step === step && a.by === input.by);
      if (same) return `step ${step} already approved${actorWords(same)}${soFar}`;
      if (view.awaiting === undefined) {
        if (input.step === undefined || !isLater(input.step, view.lastAwaited))
          return `not waiting for approval${stateWords(view.state)}`;
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
  /** A named step (a go-live's stage) as the number the waits use; undefined leaves it as sent. */
  stepOf?: (step: number | string) => number | string | undefined;
  /**
   * False when the action is not this run's to take but another's (a go-live's running child):
   * nothing changes here, `onEvent` gets it with `passedOn` set. Default: every action applies.
   */
  appliesHere?: (signal: OperatorSignal, input: OperatorInput) => boolean;
  /** The refusal, given the standard one (a go-live accepts an approve its child takes). */
  refusal?: (signal: OperatorSignal, input: OperatorInput, standard: string | undefined) => string | undefined;
}

/** What a signal did, with words for a decision log. */
export interface OperatorEvent {
  signal: OperatorSignal;
  input: OperatorInput;
  text: string;
  /** Not applied here: for another run to take (see `InstallOptions.appliesHere`). */
  passedOn?: boolean;
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
  private awaiting?: number | string;
  /** `waitForResume` is waiting. */
  private holding = false;
  /** The rule of the approval `takeApproval` waits for now. */
  private rule?: ApprovalRule;
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
    const startedBy = carried?.startedBy ?? memoStarter();
    if (startedBy) this.state.startedBy = startedBy;
  }

  /** Who started the run (`opsflow start --by`), when it is known. */
  get startedBy(): string | undefined {
    return this.state.startedBy;
  }

  /** The approval awaited now under a rule of several people or forbidding the starter: who approved so far. */
  approvalProgress(): ApprovalProgress | undefined {
    const rule = this.rule;
    if (this.awaiting === undefined || !rule || (rule.approvers <= 1 && !rule.forbidStarter)) return undefined;
    const approvedBy = approversOf(this.state.pendingApprovals, this.awaiting, rule, this.state.startedBy).filter(
      Boolean,
    );
    return {
      step: this.awaiting,
      needed: rule.approvers,
      approvedBy,
      ...(rule.forbidStarter && this.state.startedBy ? { forbidStarter: this.state.startedBy } : {}),
    };
  }

  /** What the validators see now. */
  view(): ControlsView {
    // A migration says its `phase`; the others their `state`.
    const status = this.statusOf() as { state?: unknown; phase?: unknown } | undefined;
    const state = status?.state ?? status?.phase;
    return {
      ...this.carry(),
      awaiting: this.awaiting,
      held: this.holding,
      ...(typeof state === 'string' ? { state } : {}),
      ...(this.rule ? { rule: this.rule } : {}),
    };
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
    const text = `approve received${input.step ? ` for step ${input.step}` : ''}${byWord('from', input.by, input.at)}`;
    const step = input.step ?? this.awaiting;
    // The signal form cannot be refused: an approve the rule does not count is said, not kept.
    if (this.rule?.forbidStarter && step === this.awaiting && (!input.by || input.by === this.state.startedBy)) {
      return {
        signal: 'approve',
        input,
        text: `${text}; not counted: ${input.by ? `${input.by} started this run` : 'no name given'} (forbidStarter)`,
      };
    }
    this.state.pendingApprovals.push({ step: input.step, ...(input.by ? { by: input.by } : {}) });
    const record: ApprovalRecord = { step, ...(input.by ? { by: input.by } : {}), ...(at ? { at } : {}) };
    this.state.approvals = [...(this.state.approvals ?? []), record].slice(-MAX_APPROVAL_RECORDS);
    const progress = step === this.awaiting ? this.approvalProgress() : undefined;
    return {
      signal: 'approve',
      input,
      text: progress && progress.needed > 1 ? `${text} (${progress.approvedBy.length} of ${progress.needed})` : text,
    };
  }
  pause(input: OperatorInput = {}, at = input.at): OperatorEvent {
    if (!this.state.paused) this.state.pausedBy = { ...(input.by ? { by: input.by } : {}), ...(at ? { at } : {}) };
    this.state.paused = true;
    return {
      signal: 'pause',
      input,
      text: `paused${byWord('by', input.by, input.at)}${input.reason ? `: ${input.reason}` : ''}`,
    };
  }
  resume(input: OperatorInput = {}, _at = input.at): OperatorEvent {
    this.state.paused = false;
    delete this.state.pausedBy;
    this.resumed = true;
    return { signal: 'resume', input, text: `resumed${byWord('by', input.by, input.at)}` };
  }
  abort(input: OperatorInput = {}, at = input.at): OperatorEvent {
    this.state.aborted ??= { reason: input.reason ?? 'no reason given', by: input.by, ...(at ? { at } : {}) };
    return {
      signal: 'abort',
      input,
      text: `abort received${byWord('from', input.by, input.at)}: ${this.state.aborted.reason}`,
    };
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
  /** Enough approves for `step` are waiting (one naming it or a bare one; under a rule, its N people). */
  hasApprovalFor(step: number | string, rule?: ApprovalRule): boolean {
    if (!rule) return this.state.pendingApprovals.some((a) => isFor(a, step));
    return approversOf(this.state.pendingApprovals, step, rule, this.state.startedBy).length >= rule.approvers;
  }
  /**
   * Drops what was sent before `step`'s wait and is not for a later step: an approve naming a later
   * step still counts when that step comes; a bare one is for a step that is waiting, not the next.
   * Before a named wait (a stuck drain) every approve naming a step is kept: names have no order.
   */
  discardApprovalsBefore(step: number | string): void {
    this.state.pendingApprovals = this.state.pendingApprovals.filter(
      (a) => a.step !== undefined && (typeof step !== 'number' || (a.step as number) > step - 1),
    );
  }
  /** How a wait for `step`'s approval ends now: an abort wins; undefined while it must go on. */
  approvalOutcome(
    step: number | string,
    alreadyApproved = false,
    rule?: ApprovalRule,
  ): 'approved' | 'aborted' | undefined {
    if (this.state.aborted) return 'aborted';
    return this.hasApprovalFor(step, rule) || alreadyApproved ? 'approved' : undefined;
  }
  /** Uses up every approve that was for `step`. */
  consumeApprovalsFor(step: number | string): void {
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
      ...(s.startedBy ? { startedBy: s.startedBy } : {}),
    };
  }

  // ---- Temporal: handlers and waits ----
  /**
   * Sets the handlers of the signals named (always in the order approve, pause, resume, abort);
   * `onEvent` runs after each transition (log it, refresh the details).
   */
  install(which: OperatorSignal[], onEvent: (event: OperatorEvent) => void, options: InstallOptions = {}): void {
    if (options.status) this.statusOf = options.status;
    const normal = (input?: OperatorInput): OperatorInput => {
      const step = input?.step !== undefined && options.stepOf ? options.stepOf(input.step) : input?.step;
      return { ...(input ?? {}), ...(step !== undefined ? { step } : {}) };
    };
    const take = (signal: OperatorSignal, input: OperatorInput, at?: string): OperatorEvent =>
      options.appliesHere && !options.appliesHere(signal, input)
        ? { signal, input, text: `${signal} passed on`, passedOn: true }
        : this.apply(signal, input, at);
    for (const signal of signalOrder.filter((s) => which.includes(s))) {
      // The signal's words stay as they were (its decision entry has its own time).
      wf.setHandler(definitions[signal], (input?: OperatorInput) =>
        onEvent(take(signal, { ...normal(input), at: undefined }, now())),
      );
      // The Update form: refused (with why) before history, else the same transition, answered with the status.
      wf.setHandler(
        operatorUpdates[signal],
        async (input?: OperatorInput) => {
          const waited = this.awaiting;
          const event = take(signal, { ...normal(input), at: now() });
          onEvent(event);
          // The approve that completes the step waited for: answer once the run has taken it, with the state it moved to.
          if (
            !event.passedOn &&
            signal === 'approve' &&
            waited !== undefined &&
            (event.input.step ?? waited) === waited &&
            this.hasApprovalFor(waited, this.rule)
          )
            await wf.condition(() => this.awaiting !== waited);
          return this.statusOf();
        },
        {
          validator: (input?: OperatorInput) => {
            const sent = normal(input);
            const standard = this.refusal(signal, sent);
            const why = options.refusal ? options.refusal(signal, sent, standard) : standard;
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

  /** Returns once not paused (at once when not paused); with `orAborted`, an abort ends the wait too. */
  async waitWhilePaused(orAborted = false): Promise<void> {
    await wf.condition(() => !this.state.paused || (orAborted && this.state.aborted !== undefined));
  }

  /**
   * Waits for an approve of `step` (or `alreadyApproved()`), or an abort. On an approve it is used
   * up and 'approved' returned; on an abort nothing is used and 'aborted' returned. A `summary`
   * (what is awaited and the command that approves it) shows the wait in the Web UI's timeline.
   */
  async takeApproval(
    step: number | string,
    alreadyApproved: () => boolean = () => false,
    rule?: ApprovalRule,
    summary?: string,
  ): Promise<'approved' | 'aborted'> {
    this.discardApprovalsBefore(step);
    this.awaiting = step;
    // One person, anyone: the wait as it always was (no rule to count by).
    this.rule = rule && (rule.approvers > 1 || rule.forbidStarter) ? rule : undefined;
    let outcome: 'approved' | 'aborted';
    try {
      await shownWait(() => this.approvalOutcome(step, alreadyApproved(), this.rule) !== undefined, summary);
      outcome = this.approvalOutcome(step, alreadyApproved(), this.rule)!;
    } finally {
      this.awaiting = undefined;
      this.rule = undefined;
      this.state.lastAwaited = step;
    }
    if (outcome === 'approved') this.consumeApprovalsFor(step);
    return outcome;
  }

  /** An approval is awaited now (`takeApproval` is waiting). */
  get approvalAwaited(): boolean {
    return this.awaiting !== undefined;
  }

  /**
   * Returns once no approval is awaited. Waits that may come at once (a batch's hosts whose drains
   * are stuck) take turns through it: each is approved on its own, and a bare approve is for the one
   * waiting, never for both.
   */
  async approvalTurn(): Promise<void> {
    // Every waiter wakes when one wait ends; the first to go on takes the turn, the others wait again.
    while (this.awaiting !== undefined) await wf.condition(() => this.awaiting === undefined);
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
export function stopSentence(
  subject: string,
  stop: { kind: string; message: string },
  verb: string,
  where: string,
  why = stop.message,
): string {
  return stop.kind === 'abort' || stop.kind === 'cancel'
    ? `${subject} ${stop.message}`
    : `${subject} ${verb} at ${where}: ${why}`;
}

/** `OperatorControls.reportUnknownSignals` for a run whose actions are wired another way (go-live). */
function reportUnknownSignals(known: readonly string[], note: (text: string) => void): void {
  const type = wf.workflowInfo().workflowType;
  wf.setDefaultSignalHandler((name: string) => note(ignoredSignalText(name, type, known)));
}

/** Who started the run, from its memo (outside a workflow, as in unit tests: unknown). */
function memoStarter(): string | undefined {
  if (!wf.inWorkflowContext()) return undefined;
  const by = wf.workflowInfo().memo?.[STARTED_BY_MEMO];
  return typeof by === 'string' && by ? by : undefined;
}

/** Patch id: runs recorded before approval waits showed in the timeline waited on no timer. */
const APPROVAL_WAIT_TIMER = 'operator-approval-wait-timer';
/** The shown wait's timer only renews itself; it never ends the wait. */
const SHOWN_WAIT_PERIOD = '7 days';

/**
 * `shownWait` for a wait on a person outside the approvals (a go-live's pause, an incident's
 * runbook step). Not async: a history recorded before waited on the bare condition, and one more
 * promise between it and the waiting code would let the run's other branches go first on replay.
 */
export function shownCondition(done: () => boolean, summary: string): Promise<void> {
  if (done() || !wf.patched(APPROVAL_WAIT_TIMER)) return wf.condition(done);
  return shownWait(done, summary);
}

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

function isFor(a: PendingApproval, step: number | string): boolean {
  return a.step === undefined || a.step === step;
}

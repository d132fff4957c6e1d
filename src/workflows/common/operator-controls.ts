// Why: every long run answers the same operator signals (approve, pause/resume, abort with who and
// why); their handlers and the waits on them live here once, so a new workflow wires them in one
// call instead of copying handlers. The state they change is `OperatorState`'s.
import * as wf from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { ApprovalRule } from '../../domain/approval';
import { abortSignal, operatorSignals, operatorUpdates, pauseSignal, type OperatorInput } from './messages';
import type { OperatorSignal } from './operator-carry';
import { ignoredSignalText } from './operator-refusal';
import { OperatorState, type OperatorEvent } from './operator-state';

export { abortSignal, operatorSignals, pauseSignal, type OperatorInput, type OperatorEvent, type OperatorSignal };
export type { ApprovalProgress, OperatorCarry } from './operator-carry';

/** The order handlers are installed in: signals buffered before then are delivered in this order. */
const signalOrder: OperatorSignal[] = ['approve', 'pause', 'resume', 'abort'];

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

/** `OperatorState` with its handlers and waits: the only Temporal calls of the operator's say. */
export class OperatorControls extends OperatorState {
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
      wf.setHandler(operatorSignals[signal], (input?: OperatorInput) =>
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
    const type = wf.workflowInfo().workflowType;
    wf.setDefaultSignalHandler((name: string) => note(ignoredSignalText(name, type, known)));
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

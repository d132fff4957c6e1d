// Why: the operator's say over a run as pure transitions (one per action, the approvals of numbered
// steps, a hold's resume), so the unit tests drive it without Temporal and every run's controls
// (operator-controls.ts) change state the same way.
import * as wf from '@temporalio/workflow';
import { STARTED_BY_MEMO, type ApprovalRule } from '../../domain/approval';
import type { OperatorInput } from './messages';
import type {
  Abort,
  Actor,
  ApprovalProgress,
  ApprovalRecord,
  OperatorCarry,
  OperatorSignal,
  PendingApproval,
} from './operator-carry';
import { approversOf, refusal, type ControlsView } from './operator-refusal';

/** How many approvals are remembered for "already approved by …" (the newest). */
const MAX_APPROVAL_RECORDS = 20;

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
 * one counts). Every method is pure; `OperatorControls` adds the handlers and the waits.
 */
export class OperatorState {
  protected state: OperatorCarry;
  /** A resume since the last `waitForResume` began; not carried (a new run is not waiting). */
  protected resumed = false;
  /** The step whose approval `takeApproval` waits for now; not carried (a new run waits anew). */
  protected awaiting?: number | string;
  /** `waitForResume` is waiting. */
  protected holding = false;
  /** The rule of the approval `takeApproval` waits for now. */
  protected rule?: ApprovalRule;
  protected statusOf: () => unknown = () => undefined;

  constructor(carried?: Partial<OperatorCarry>) {
    this.state = copied({ ...carried, startedBy: carried?.startedBy ?? memoStarter() });
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

  /** The pause as a run's status shows it: paused or not, and while paused who paused it. */
  showPause(status: { paused?: boolean; pausedBy?: Actor }): void {
    status.paused = this.state.paused;
    if (this.state.paused && this.state.pausedBy) status.pausedBy = { ...this.state.pausedBy };
    else delete status.pausedBy;
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
    return copied(this.state);
  }
}

/** A copy of the operator's state that shares nothing with `s` (absent fields stay absent). */
function copied(s: Partial<OperatorCarry>): OperatorCarry {
  return {
    paused: s.paused ?? false,
    pendingApprovals: [...(s.pendingApprovals ?? [])],
    ...(s.aborted ? { aborted: { ...s.aborted } } : {}),
    ...(s.pausedBy ? { pausedBy: { ...s.pausedBy } } : {}),
    ...(s.approvals ? { approvals: s.approvals.map((a) => ({ ...a })) } : {}),
    ...(s.lastAwaited !== undefined ? { lastAwaited: s.lastAwaited } : {}),
    ...(s.startedBy ? { startedBy: s.startedBy } : {}),
  };
}

/** Who started the run, from its memo (outside a workflow, as in unit tests: unknown). */
function memoStarter(): string | undefined {
  if (!wf.inWorkflowContext()) return undefined;
  const by = wf.workflowInfo().memo?.[STARTED_BY_MEMO];
  return typeof by === 'string' && by ? by : undefined;
}

function isFor(a: PendingApproval, step: number | string): boolean {
  return a.step === undefined || a.step === step;
}

// Why: everything a rollout knows and decides (status record, decision log, operator controls,
// carried state) with pure transitions, so the rules can be tested without Temporal and the
// workflow's flow only says what happens in which order.
import { approvalRuleOf, type ApprovalRule } from '../../domain/approval';
import { describeGateResult, type GateResult, type Sample, type Verdict } from '../../domain/gate/evaluate';
import {
  afterHold,
  holdReason,
  nextGateStep,
  samplesPlanned,
  windowMayEnd,
  type GateAction,
} from '../../domain/gate/policy';
import { formatDuration, type PhasedRolloutInput, type RolloutPlan } from '../../domain/rollout/input';
import { appendBounded, DecisionLog } from '../common/decision-log';
import { Stop } from '../common/gate-window';
import { OperatorControls, type OperatorEvent } from '../common/operator-controls';
import type { Ending } from '../common/ending';
import { approvalWaitText, heldText, pausedText } from '../../domain/operator-commands';
import type { ResolvedBaselineGate } from '../../domain/baseline/gate';
import {
  endStates,
  initialStatus,
  type Decision,
  type RolloutCarry,
  type RolloutState,
  type RolloutStatus,
} from './status';

const MAX_DECISIONS = 100;
const MAX_SAMPLES = 5;

/** One rollout run's state; a continued run starts from the carry of the one before. */
export class RolloutRun {
  readonly status: RolloutStatus;
  readonly controls: OperatorControls;
  private readonly log: DecisionLog<Decision>;
  /** A promote came since the current sample's wait began (not carried: a new run starts a new wait). */
  private promoteRequested = false;

  constructor(
    readonly input: PhasedRolloutInput,
    readonly carried?: RolloutCarry,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {
    this.status = carried?.status ?? initialStatus(input);
    this.controls = new OperatorControls({
      ...carried?.operator,
      paused: this.status.paused,
      pendingApprovals: carried?.pendingApprovals,
      aborted: carried?.aborted,
    });
    this.log = new DecisionLog(this.status.decisions, MAX_DECISIONS);
  }

  get steps(): number {
    return this.input.steps.length;
  }
  stepLabel(i: number): string {
    return `step ${i + 1}/${this.steps} (${this.input.steps[i].weight} %)`;
  }
  decide(decision: string): void {
    this.log.add({ at: this.now(), step: this.status.step, decision });
  }
  /** The state the run enters; the search attribute that says so is the caller's to send. */
  enter(state: RolloutState): void {
    if (this.status.state !== state) this.status.since = this.now();
    this.status.state = state;
  }

  // ---- people ----
  onOperator(event: OperatorEvent): void {
    this.status.approvals = this.controls.approvalProgress();
    this.controls.showPause(this.status);
    this.decide(event.text);
  }
  promote(by?: string): void {
    this.promoteRequested = true;
    this.decide(`promote received${by ? ` from ${by}` : ''}`);
  }
  get promotePending(): boolean {
    return this.promoteRequested;
  }
  /** Whether a promote came for this sample; it is used up either way. */
  takePromote(): boolean {
    const promote = this.promoteRequested;
    this.promoteRequested = false;
    return promote;
  }
  /** Throws the abort as a Stop, if one came. */
  checkAbort(where: string): void {
    const message = this.controls.abortMessage(where);
    if (message) throw new Stop('abort', message);
  }
  needsApproval(i: number): boolean {
    return this.approvalRule(i) !== undefined;
  }
  /** Who must approve step `i` (one person, anyone, unless its `approval` says more). */
  approvalRule(i: number): ApprovalRule | undefined {
    return approvalRuleOf(this.input.steps[i].approval ?? this.input.requireApproval);
  }
  awaitApproval(i: number): void {
    this.status.awaitingApproval = i + 1;
  }
  /** The wait for `i`'s approval ended: approved, or (throws) aborted. */
  approvalEnded(i: number, outcome: 'approved' | 'aborted'): void {
    this.status.awaitingApproval = undefined;
    this.status.approvals = undefined;
    if (outcome === 'aborted') this.checkAbort(`before ${this.stepLabel(i)}`);
    this.status.approved.push(i + 1);
    this.decide(`${this.stepLabel(i)} approved`);
  }

  // ---- plan and steps ----
  /** The gate came from a baseline: recorded with its origin before the plan that judges by it. */
  gateResolved(resolved: ResolvedBaselineGate): void {
    this.status.gateFrom = resolved;
    this.decide(resolved.description);
  }
  /** Where a gate from a baseline came from, to follow a failure it judged: "" for an explicit gate. */
  gateOrigin(): string {
    return this.status.gateFrom ? `; ${this.status.gateFrom.description}` : '';
  }
  planned(plan: RolloutPlan): void {
    this.status.plan = plan;
    plan.notes.forEach((note) => this.decide(note));
    this.decide(
      `plan: gate ${JSON.stringify(plan.gate)}, ${this.steps} steps ${this.input.steps.map((step) => `${step.weight} %/${formatDuration(step.window)}`).join(' → ')}`,
    );
  }
  startStep(i: number): void {
    this.status.step = i + 1;
    this.status.window = undefined;
  }
  /** Step `i`'s split as the LB should have it: cohorts only where the LB supports them. */
  targetUsers(i: number): string[] | undefined {
    return this.status.plan!.supportsCohorts ? this.input.steps[i].targetUsers : undefined;
  }

  // ---- the window ----
  samplesPlanned(i: number): number {
    return samplesPlanned(this.input.steps[i].window, this.input.sampleInterval);
  }
  /** Opens step `i`'s window at sample `samplesTaken` (0 when new, more when carried). */
  beginWindow(i: number, samplesTaken: number, startedAt: string): void {
    this.status.window = {
      step: i + 1,
      startedAt,
      samplesTaken,
      samplesPlanned: this.samplesPlanned(i),
      intervalMs: this.input.sampleInterval,
    };
    this.promoteRequested = false;
  }
  recordSample(i: number, k: number, sample: Sample, result: GateResult): void {
    appendBounded(
      this.status.lastSamples,
      { step: i + 1, n: k, at: sample.at, verdict: result.verdict, summary: describeGateResult(result), sample },
      MAX_SAMPLES,
    );
  }
  /** Sample `k` of the window counted: what the gate policy says to do next. */
  countSample(k: number, verdict: Verdict): GateAction {
    this.status.window!.samplesTaken = k;
    const next = nextGateStep(this.status.counters, verdict, this.input);
    this.status.counters = next.counters;
    return next.action;
  }
  /** A promote ends the window early only on a passing sample and when not paused. */
  promoteAccepted(k: number, planned: number, last: Verdict): boolean {
    if (last === 'pass' && !this.status.paused) {
      this.decide(`promoted at sample ${k}/${planned}: latest sample passed`);
      return true;
    }
    this.decide(
      `promote refused at sample ${k}/${planned}: ${this.status.paused ? 'paused' : `latest sample ${last}`}`,
    );
    return false;
  }
  windowPassed(i: number, k: number, planned: number, last: Verdict): boolean {
    if (this.status.paused || !windowMayEnd(k, planned, last)) return false;
    this.decide(`${this.stepLabel(i)} passed: ${k} samples, latest pass`);
    return true;
  }
  /** Why the run holds now, in words. */
  holdReason(i: number): string {
    return `${holdReason(this.status.counters)} at ${this.stepLabel(i)}`;
  }
  holdAnswered(): void {
    this.status.counters = afterHold(this.status.counters);
  }

  // ---- continue-as-new and endings ----
  carry(stepIndex: number, samplesTaken: number, windowStartedAt: string): RolloutCarry {
    const { pendingApprovals, aborted, paused: _paused, ...operator } = this.controls.carry();
    return { stepIndex, samplesTaken, windowStartedAt, status: this.status, pendingApprovals, aborted, operator };
  }
  /** Where a continued run picks up step `i`'s window; undefined for a step started afresh. */
  resumesAt(i: number): RolloutCarry | undefined {
    return this.carried !== undefined && i === this.carried.stepIndex ? this.carried : undefined;
  }
  /**
   * A run cut short by a failure or a cancellation: its state and failure say so. Undefined when
   * the run had already ended by its own handling; else words to go before the failure's own.
   */
  cutShort({ kind, message }: Ending): { context?: string } | undefined {
    const before = this.status.state;
    if (endStates.includes(before)) return undefined;
    this.status.state = kind === 'cancelled' ? 'cancelled' : before === 'rolling-back' ? 'rollback-failed' : 'failed';
    this.status.failure = `${this.status.state}${before !== 'planning' ? ` (was ${before})` : ''}: ${message}`;
    this.decide(this.status.failure);
    const { service, lb, backends } = this.input;
    if (this.status.state === 'rollback-failed')
      return { context: `rollback of ${service} on ${lb} failed, ${backends.new} may still get traffic` };
    return before === 'planning' ? { context: `cannot roll out ${service}, nothing was changed` } : {};
  }
  /**
   * What the run waits on a person for, with the command that answers it; undefined when it waits
   * on nobody. `workflowId` is the run's own.
   */
  waitingOn(workflowId: string): string | undefined {
    const { status } = this;
    if (status.awaitingApproval !== undefined)
      return approvalWaitText(this.stepLabel(status.awaitingApproval - 1), workflowId);
    if (status.state === 'held') return heldText(workflowId, this.holdReason(status.step - 1));
    if (status.paused && !endStates.includes(status.state)) return pausedText(workflowId, status.pausedBy);
    return undefined;
  }

  /** The run's current details (markdown) for the UI; with its id, what it waits on and the command. */
  details(workflowId?: string): string {
    const { status } = this;
    const w = status.weights ? ` · LB reads ${status.weights.newPercent} % new` : '';
    const win = status.window ? ` · sample ${status.window.samplesTaken}/${status.window.samplesPlanned}` : '';
    const last = status.lastSamples.at(-1);
    const waiting = workflowId === undefined ? undefined : this.waitingOn(workflowId);
    return (
      `**${this.input.service}: ${status.state}**${status.step ? ` — ${this.stepLabel(status.step - 1)}` : ''}${w}${win}` +
      (status.paused ? ' · **paused**' : '') +
      (waiting ? `\n\n**${waiting}**` : '') +
      (last ? `\n\nlast sample: ${last.summary}` : '') +
      (status.failure ? `\n\n**${status.failure}**` : '')
    );
  }
}

// Why: what a cutover knows (per-batch progress, the schedule, samples, decisions) and every rule
// that changes it, without Temporal, so the rules are unit-tested and carried across continue-as-new.
import { describeCohort } from '../../domain/cutover/cohort';
import {
  baselineBatchGate,
  baselineRefKey,
  batchGate,
  thresholdsOf,
  type UserCutoverInput,
} from '../../domain/cutover/input';
import { isBaselineRef, type ResolvedBaselineGate } from '../../domain/baseline/gate';
import { nextStartMs, resolveStartAt } from '../../domain/cutover/schedule';
import {
  afterHold,
  holdReason,
  nextGateStep,
  samplesPlanned,
  windowMayEnd,
  zeroCounters,
  type GateAction,
} from '../../domain/gate/policy';
import { describeGateResult, type GateResult, type GateThresholds, type Verdict } from '../../domain/gate/evaluate';
import { appendBounded, DecisionLog } from '../common/decision-log';
import { OperatorControls, type OperatorEvent, type OperatorInput } from '../common/operator-controls';
import { approvalRuleOf, type ApprovalRule } from '../../domain/approval';
import { approvalWaitText, heldText, pausedText } from '../../domain/operator-commands';
import { cutoverEndStates, type BatchState, type CutoverCarry, type CutoverState, type CutoverStatus } from './status';

const MAX_DECISIONS = 200;
const MAX_SAMPLES = 20;
const iso = (ms: number) => new Date(ms).toISOString();

export class CutoverRun {
  readonly status: CutoverStatus;
  readonly controls: OperatorControls;
  readonly originMs: number;
  readonly runKey: string;
  abortAll: boolean;
  lastEndMs?: number;
  /** Bumped by every reschedule or skip, so a wait for a start time notices it. */
  scheduleVersion = 0;
  private log: DecisionLog<{ at: string; text: string }>;

  constructor(
    readonly input: UserCutoverInput,
    origin: { originMs: number; runKey: string },
    carried?: CutoverCarry,
  ) {
    this.originMs = carried?.originMs ?? origin.originMs;
    this.runKey = carried?.runKey ?? origin.runKey;
    this.abortAll = carried?.abortAll ?? false;
    this.lastEndMs = carried?.lastEndMs;
    this.controls = new OperatorControls(carried?.operator);
    this.status = carried?.status ?? {
      service: input.service,
      state: 'scheduled',
      batches: input.batches.map((b) => ({
        name: b.name,
        cohort: describeCohort(b.cohort),
        state: 'scheduled',
        startAt: iso(resolveStartAt(b.startAt, this.originMs)),
        samplesTaken: 0,
        samplesPlanned: samplesPlanned(b.window, this.interval(input.batches.indexOf(b))),
      })),
      paused: false,
      counters: { ...zeroCounters },
      lastSamples: [],
      decisions: [],
    };
    this.log = new DecisionLog(this.status.decisions, MAX_DECISIONS);
  }

  interval(i: number): number {
    return this.input.batches[i].sampleInterval ?? this.input.sampleInterval;
  }
  gate(i: number): GateThresholds {
    const t = thresholdsOf(this.input, i);
    if (!isBaselineRef(t)) return batchGate(t);
    const from = this.baselineOf(i);
    if (!from)
      throw new Error(`${this.label(i)}: thresholds from baseline of ${t.fromBaseline} were not resolved at the start`);
    return baselineBatchGate(from.gate);
  }
  /** The baseline batch `i`'s thresholds were taken from, resolved at the start; undefined for explicit numbers. */
  baselineOf(i: number): ResolvedBaselineGate | undefined {
    const t = thresholdsOf(this.input, i);
    return isBaselineRef(t) ? this.status.thresholdsFrom?.find((r) => r.ref === baselineRefKey(t)) : undefined;
  }
  /** Where batch `i`'s thresholds came from, to follow a failure they judged: "" for explicit ones. */
  gateOrigin(i: number): string {
    const from = this.baselineOf(i);
    return from ? `; ${from.description}` : '';
  }
  thresholdsResolved(ref: string, resolved: ResolvedBaselineGate, batches: number[]): void {
    (this.status.thresholdsFrom ??= []).push({
      ...resolved,
      ref,
      batches: batches.map((i) => this.input.batches[i].name),
    });
    this.decide(`${resolved.description} (for ${batches.map((i) => this.label(i)).join(', ')})`);
  }
  label(i: number): string {
    return `batch ${i + 1}/${this.input.batches.length} "${this.input.batches[i].name}"`;
  }
  /** Batch `i` waits for a person's approve (undefined: it waits no longer). */
  awaitApproval(i: number | undefined): void {
    if (i === undefined) delete this.status.awaitingApproval;
    else this.status.awaitingApproval = i + 1;
  }
  /** What the run waits on a person for, with the command that answers it; undefined when nobody. */
  waitingOn(workflowId: string): string | undefined {
    const { status } = this;
    if (status.awaitingApproval !== undefined)
      return approvalWaitText(this.label(status.awaitingApproval - 1), workflowId);
    if (status.state === 'held') return heldText(workflowId);
    if (status.paused && !cutoverEndStates.includes(status.state)) return pausedText(workflowId, status.pausedBy);
    return undefined;
  }
  needsApproval(i: number): boolean {
    return this.approvalRule(i) !== undefined;
  }
  /** Who must approve batch `i` (one person, anyone, unless its `approval` says more). */
  approvalRule(i: number): ApprovalRule | undefined {
    return approvalRuleOf(this.input.batches[i].approval ?? this.input.requireApproval);
  }
  /** Waits for batch `i`'s approval; who approved so far is in the status meanwhile. */
  async takeApproval(i: number, summary?: string): Promise<'approved' | 'aborted'> {
    const wait = this.controls.takeApproval(i + 1, undefined, this.approvalRule(i), summary);
    this.status.approvals = this.controls.approvalProgress();
    try {
      return await wait;
    } finally {
      this.status.approvals = undefined;
    }
  }

  decide(text: string, nowMs = Date.now()): void {
    this.log.add({ at: iso(nowMs), text });
  }

  enter(state: CutoverState): void {
    this.status.state = state;
  }
  setBatch(i: number, state: BatchState, nowMs = Date.now()): void {
    const b = this.status.batches[i];
    b.state = state;
    if (state === 'listing') b.startedAt = iso(nowMs);
    // skipped here means skipped after listing (an empty cohort): an operator's skip sets the state itself
    if (['moved', 'rolled-back', 'failed', 'not-started', 'skipped'].includes(state)) b.endedAt ??= iso(nowMs);
    this.status.current = i;
  }

  /** When batch `i` starts: its requested time, at least `minGap` after the last moved batch ended. */
  startMs(i: number): number {
    return nextStartMs(Date.parse(this.status.batches[i].startAt), this.lastEndMs, this.input.minGap);
  }

  batchEnded(i: number, nowMs: number): void {
    this.setBatch(i, 'moved', nowMs);
    this.lastEndMs = nowMs;
  }

  onOperator(e: OperatorEvent): void {
    this.status.approvals = this.controls.approvalProgress();
    if (e.signal === 'abort' && (e.input as OperatorInput & { all?: boolean }).all === true) this.abortAll = true;
    this.controls.showPause(this.status);
    this.decide(e.signal === 'abort' && this.abortAll ? `${e.text} (roll back every batch moved so far)` : e.text);
  }

  beginWindow(i: number, samplesTaken: number): void {
    this.status.batches[i].samplesTaken = samplesTaken;
    if (samplesTaken === 0) this.status.counters = { ...zeroCounters };
  }
  /** One sample's effect: recorded, counted, and what the batch must do next. */
  countSample(i: number, k: number, at: string, result: GateResult, early?: string): GateAction {
    this.status.batches[i].samplesTaken = k;
    const summary = describeGateResult(result);
    const sample = { batch: this.input.batches[i].name, k, at, summary, ...(early ? { early } : {}) };
    appendBounded(this.status.lastSamples, sample, MAX_SAMPLES);
    const next = nextGateStep(this.status.counters, result.verdict, this.input);
    this.status.counters = next.counters;
    return next.action;
  }
  windowOver(i: number, k: number, last: Verdict): boolean {
    return windowMayEnd(k, this.status.batches[i].samplesPlanned, last);
  }
  holdReason(): string {
    return holdReason(this.status.counters);
  }
  holdAnswered(): void {
    this.status.counters = afterHold(this.status.counters);
  }

  /** Batches that moved users and are not rolled back, latest first: what `abort {"all": true}` restores. */
  movedBatches(): number[] {
    return this.status.batches
      .map((b, i) => [b, i] as const)
      .filter(([b]) => b.moved !== undefined && b.moved > 0 && b.state !== 'rolled-back')
      .map(([, i]) => i)
      .reverse();
  }

  carry(window?: { batch: number; samplesTaken: number }): CutoverCarry {
    return {
      originMs: this.originMs,
      runKey: this.runKey,
      status: this.status,
      operator: this.controls.carry(),
      abortAll: this.abortAll,
      ...(this.lastEndMs !== undefined ? { lastEndMs: this.lastEndMs } : {}),
      ...(window ? { window } : {}),
    };
  }

  details(workflowId?: string): string {
    const { status } = this;
    const waiting = workflowId === undefined ? undefined : this.waitingOn(workflowId);
    const lines = [
      `**User cutover of ${status.service}**: ${status.state}${status.paused ? ' (paused)' : ''}`,
      ...status.batches.map(
        (b, i) =>
          `- ${i + 1}. ${b.name} (${b.cohort}): ${b.state}, start ${b.startAt}` +
          (b.members !== undefined ? `, ${b.moved ?? 0}/${b.members} moved` : '') +
          (b.restored !== undefined ? `, ${b.restored} restored` : '') +
          (b.note ? `, ${b.note}` : '') +
          (b.state === 'monitoring' ? `, sample ${b.samplesTaken}/${b.samplesPlanned}` : ''),
      ),
    ];
    if (status.nextStartAt) lines.push(`Next start: ${status.nextStartAt}`);
    if (waiting) lines.push(`**${waiting}**`);
    if (status.failure) lines.push(`Failure: ${status.failure}`);
    const last = status.decisions.at(-1);
    if (last) lines.push(`Last decision: ${last.text}`);
    return lines.join('\n');
  }
}

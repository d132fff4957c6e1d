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
import { formatDuration } from '../../domain/duration';
import {
  nextGateStep,
  samplesPlanned,
  zeroCounters,
  type GateAction,
  type GateCounters,
} from '../../domain/gate/policy';
import { describeGateResult, type GateResult, type GateThresholds, type Verdict } from '../../domain/gate/evaluate';
import { DecisionLog } from '../common/decision-log';
import {
  OperatorControls,
  type ApprovalProgress,
  type OperatorCarry,
  type OperatorEvent,
  type OperatorInput,
} from '../common/operator-controls';
import { approvalRuleOf, type ApprovalRule } from '../../domain/approval';
import { approvalWaitText, heldText, pausedText } from '../../domain/operator-commands';

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
  lastSamples: { batch: string; k: number; at: string; summary: string }[];
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
    const s = this.status;
    if (s.awaitingApproval !== undefined) return approvalWaitText(this.label(s.awaitingApproval - 1), workflowId);
    if (s.state === 'held') return heldText(workflowId);
    if (s.paused && !cutoverEndStates.includes(s.state)) return pausedText(workflowId, s.pausedBy);
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

  /** Finds a batch by 1-based number or name; a message when there is none. */
  findBatch(ref: string | number | undefined): number | string {
    if (typeof ref === 'number')
      return Number.isInteger(ref) && ref >= 1 && ref <= this.input.batches.length
        ? ref - 1
        : `no batch ${ref} (1–${this.input.batches.length})`;
    const i = this.input.batches.findIndex((b) => b.name.toLowerCase() === String(ref ?? '').toLowerCase());
    return i >= 0
      ? i
      : `no batch named ${JSON.stringify(ref)} (batches: ${this.input.batches.map((b) => b.name).join(', ')})`;
  }

  /**
   * `reschedule`: a batch not started yet gets a new start time (offset from the cutover's start,
   * or ISO). Refused with a reason when the batch started, the time is past, or it would start
   * less than `minGap` after the batch before it ends (as planned).
   */
  reschedule(s: BatchSignal, nowMs: number): string {
    const plan = this.planReschedule(s, nowMs);
    if ('refused' in plan) return plan.refused;
    const b = this.status.batches[plan.i];
    b.startAt = iso(plan.at);
    this.scheduleVersion++;
    return `${this.label(plan.i)} rescheduled to ${b.startAt}${s.by ? ` by ${s.by}` : ''}`;
  }

  /** Why a reschedule is refused now (the Update's validator: nothing is written), or undefined. */
  rescheduleRefusal(s: BatchSignal, nowMs: number): string | undefined {
    const plan = this.planReschedule(s, nowMs);
    return 'refused' in plan ? plan.refused : undefined;
  }

  private planReschedule(s: BatchSignal, nowMs: number): { refused: string } | { i: number; at: number } {
    const found = this.findBatch(s.batch);
    if (typeof found === 'string') return { refused: `reschedule refused: ${found}` };
    const b = this.status.batches[found];
    if (b.state !== 'scheduled' && b.state !== 'waiting')
      return { refused: `reschedule of ${this.label(found)} refused: it is ${b.state}` };
    let at: number;
    try {
      at = resolveStartAt(String(s.startAt ?? ''), this.originMs);
    } catch (err) {
      return { refused: `reschedule of ${this.label(found)} refused: startAt ${(err as Error).message}` };
    }
    if (at < nowMs) return { refused: `reschedule of ${this.label(found)} refused: ${iso(at)} is in the past` };
    const prev = this.previousEndMs(found);
    if (prev !== undefined && at < prev + this.input.minGap)
      return {
        refused: `reschedule of ${this.label(found)} refused: ${iso(at)} is less than ${formatDuration(this.input.minGap)} after the batch before it ends (${iso(prev)})`,
      };
    return { i: found, at };
  }

  /** The end of the last batch before `i` that moves: done (really ended) or planned (its start + window). */
  private previousEndMs(i: number): number | undefined {
    for (let j = i - 1; j >= 0; j--) {
      const b = this.status.batches[j];
      if (b.state === 'skipped') continue;
      if (b.endedAt) return Date.parse(b.endedAt);
      return this.startMs(j) + this.input.batches[j].window;
    }
    return undefined;
  }

  /** `skip`: a batch not started yet is left out; its users stay where they are (a later "rest" takes them). */
  skip(s: BatchSignal): string {
    const why = this.skipRefusal(s);
    if (why) return why;
    const found = this.findBatch(s.batch) as number;
    this.status.batches[found].state = 'skipped';
    this.scheduleVersion++;
    return `${this.label(found)} skipped${s.by ? ` by ${s.by}` : ''}`;
  }

  /** Why a skip is refused now (the Update's validator), or undefined. */
  skipRefusal(s: BatchSignal): string | undefined {
    const found = this.findBatch(s.batch);
    if (typeof found === 'string') return `skip refused: ${found}`;
    const b = this.status.batches[found];
    if (b.state !== 'scheduled' && b.state !== 'waiting')
      return `skip of ${this.label(found)} refused: it is ${b.state}`;
    return undefined;
  }

  onOperator(e: OperatorEvent): void {
    this.status.approvals = this.controls.approvalProgress();
    if (e.signal === 'abort' && (e.input as OperatorInput & { all?: boolean }).all === true) this.abortAll = true;
    this.status.paused = this.controls.paused;
    const { pausedBy } = this.controls.carry();
    if (this.status.paused && pausedBy) this.status.pausedBy = pausedBy;
    else delete this.status.pausedBy;
    this.decide(e.signal === 'abort' && this.abortAll ? `${e.text} (roll back every batch moved so far)` : e.text);
  }

  beginWindow(i: number, samplesTaken: number): void {
    this.status.batches[i].samplesTaken = samplesTaken;
    if (samplesTaken === 0) this.status.counters = { ...zeroCounters };
  }

  /** One sample's effect: recorded, counted, and what the batch must do next. */
  countSample(i: number, k: number, at: string, result: GateResult): GateAction {
    this.status.batches[i].samplesTaken = k;
    this.status.lastSamples.push({ batch: this.input.batches[i].name, k, at, summary: describeGateResult(result) });
    if (this.status.lastSamples.length > MAX_SAMPLES)
      this.status.lastSamples.splice(0, this.status.lastSamples.length - MAX_SAMPLES);
    const step = nextGateStep(this.status.counters, result.verdict, {
      failuresToRollback: this.input.failuresToRollback,
      inconclusive: this.input.inconclusive,
    });
    this.status.counters = step.counters;
    return step.action;
  }

  /** A window ends once its samples are taken and the last one passed (a window ending on doubt samples on). */
  windowOver(i: number, k: number, last: Verdict): boolean {
    return k >= this.status.batches[i].samplesPlanned && last === 'pass';
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
    const s = this.status;
    const waiting = workflowId === undefined ? undefined : this.waitingOn(workflowId);
    const lines = [
      `**User cutover of ${s.service}**: ${s.state}${s.paused ? ' (paused)' : ''}`,
      ...s.batches.map(
        (b, i) =>
          `- ${i + 1}. ${b.name} (${b.cohort}): ${b.state}, start ${b.startAt}` +
          (b.members !== undefined ? `, ${b.moved ?? 0}/${b.members} moved` : '') +
          (b.restored !== undefined ? `, ${b.restored} restored` : '') +
          (b.note ? `, ${b.note}` : '') +
          (b.state === 'monitoring' ? `, sample ${b.samplesTaken}/${b.samplesPlanned}` : ''),
      ),
    ];
    if (s.nextStartAt) lines.push(`Next start: ${s.nextStartAt}`);
    if (waiting) lines.push(`**${waiting}**`);
    if (s.failure) lines.push(`Failure: ${s.failure}`);
    const last = s.decisions.at(-1);
    if (last) lines.push(`Last decision: ${last.text}`);
    return lines.join('\n');
  }
}

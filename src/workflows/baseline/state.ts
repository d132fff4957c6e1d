// Why: the baseline run's state (window, per-group progress, decisions, how it ended) with pure
// transitions, so it is unit-tested without Temporal and the workflow only calls named steps.
import type { ChunkResult } from '../../activities/baseline';
import type { Baseline } from '../../domain/baseline/baseline';
import { expectedTicks } from '../../domain/baseline/baseline';
import type { BaselinePlan, SampledGroup } from '../../domain/baseline/input';
import { formatDuration } from '../../domain/duration';
import { isSufficient } from '../../domain/baseline/thresholds';
import { DecisionLog } from '../common/decision-log';

/** A chunk is a twelfth of the window: progress every ~5 min of an hour, a dozen activities per group. */
export const CHUNKS_PER_WINDOW = 12;
const MAX_DECISIONS = 50;

export type BaselinePhase =
  'planning' | 'sampling' | 'summarizing' | 'notifying' | 'done' | 'partial' | 'failed' | 'cancelled';
type GroupState = 'sampling' | 'done' | 'failed' | 'stopped';

export interface GroupProgress {
  group: string;
  state: GroupState;
  /** Ticks the window holds, and those whose chunk has finished (recorded + missed). */
  ticksExpected: number;
  ticksDone: number;
  recorded: number;
  missed: number;
  requests?: number;
  errors?: number;
  failure?: string;
}

export interface BaselineWindow {
  start: string;
  endsAt: string;
  durationMs: number;
  intervalMs: number;
  ticks: number;
}

export interface BaselineStatus {
  service: string;
  phase: BaselinePhase;
  window?: BaselineWindow;
  groups: GroupProgress[];
  decisions: string[];
  /** Why the baseline is partial, once it is. */
  partial?: string;
  failure?: string;
  baseline?: Baseline;
  notified: string[];
}

/**
 * A chunk spans at least half a minute of ticks. Each chunk is an activity, and between two of them
 * the worker runs a workflow task and picks up the next activity: on a busy worker that round trip
 * can outlast a short interval, and a tick more than an interval late is missed. A short window in
 * chunks of one tick lost most of its ticks that way; in one chunk only its own ticks' work delays it.
 */
const MIN_CHUNK_MS = 30_000;

/** Ticks of one chunk at least, at `intervalMs`. */
export const minChunkTicks = (intervalMs: number) => Math.max(1, Math.ceil(MIN_CHUNK_MS / intervalMs));

/** Ticks [from, until) of each chunk of a window of `ticks` ticks, `minSize` ticks a chunk at least. */
export function chunkRanges(ticks: number, chunks = CHUNKS_PER_WINDOW, minSize = 1): [number, number][] {
  const size = Math.max(minSize, Math.ceil(ticks / chunks));
  const out: [number, number][] = [];
  for (let from = 0; from < ticks; from += size) out.push([from, Math.min(ticks, from + size)]);
  return out;
}

/** The window of a run that starts now: tick 0 at once, one tick per interval. */
export function planWindow(input: Pick<BaselinePlan, 'duration' | 'interval'>, nowMs: number): BaselineWindow {
  return {
    start: new Date(nowMs).toISOString(),
    endsAt: new Date(nowMs + input.duration).toISOString(),
    durationMs: input.duration,
    intervalMs: input.interval,
    ticks: expectedTicks(input.duration, input.interval),
  };
}

export class BaselineRun {
  readonly status: BaselineStatus;
  private readonly log: DecisionLog<string>;
  private stopReason?: string;

  constructor(service: string) {
    this.status = { service, phase: 'planning', groups: [], decisions: [], notified: [] };
    this.log = new DecisionLog(this.status.decisions, MAX_DECISIONS);
  }

  get phase(): BaselinePhase {
    return this.status.phase;
  }

  decide(text: string): void {
    this.log.add(text);
  }

  start(window: BaselineWindow, groups: SampledGroup[]): void {
    this.status.window = window;
    this.status.groups = groups.map((g) => ({
      group: g.id,
      state: 'sampling',
      ticksExpected: window.ticks,
      ticksDone: 0,
      recorded: 0,
      missed: 0,
    }));
    this.status.phase = 'sampling';
    this.decide(
      `sampling ${groups.map((g) => g.id).join(', ')} in parallel for ${formatDuration(window.durationMs)}, every ${formatDuration(window.intervalMs)} (${window.ticks} ticks)`,
    );
  }

  private group(id: string): GroupProgress {
    const g = this.status.groups.find((x) => x.group === id);
    if (!g) throw new Error(`no group ${id} in this baseline`);
    return g;
  }

  chunkDone(r: ChunkResult): void {
    const g = this.group(r.group);
    g.ticksDone += r.until - r.from;
    g.recorded += r.recorded;
    g.missed += r.missed;
    if (r.requests !== undefined) g.requests = (g.requests ?? 0) + r.requests;
    if (r.errors !== undefined) g.errors = (g.errors ?? 0) + r.errors;
    if (g.ticksDone >= g.ticksExpected) g.state = 'done';
  }

  groupFailed(id: string, message: string): void {
    const g = this.group(id);
    g.state = 'failed';
    g.failure = message;
    this.decide(`${id} stopped sampling: ${message}`);
  }

  /** An abort or a cancellation: the first reason counts; groups still sampling are stopped. */
  stop(reason: string): void {
    this.stopReason ??= reason;
    for (const g of this.status.groups) if (g.state === 'sampling') g.state = 'stopped';
    this.decide(`sampling stopped: ${reason}`);
  }

  /** Planning or sampling: an abort still stops something. */
  get sampling(): boolean {
    return this.status.phase === 'planning' || this.status.phase === 'sampling';
  }

  get stopped(): boolean {
    return this.stopReason !== undefined;
  }

  /** Why the baseline is partial: stopped early, or a group that could not be sampled; undefined when complete. */
  partialReason(): string | undefined {
    const failed = this.status.groups
      .filter((g) => g.state === 'failed')
      .map((g) => `${g.group} failed (${g.failure})`);
    const reasons = [...(this.stopReason ? [this.stopReason] : []), ...failed];
    return reasons.length ? reasons.join('; ') : undefined;
  }

  summarizing(): void {
    this.status.phase = 'summarizing';
    this.status.partial = this.partialReason();
  }

  summarized(b: Baseline): void {
    this.status.baseline = b;
    const metrics = (sufficient: boolean) =>
      b.groups.flatMap((g) =>
        Object.entries(g.thresholds)
          .filter(([, t]) => isSufficient(t) === sufficient)
          .map(([m]) => `${g.group} ${m}`),
      );
    const sufficient = metrics(true);
    const insufficient = metrics(false);
    this.decide(
      `baseline ${b.complete ? 'complete' : 'PARTIAL'}: thresholds for ${sufficient.join(', ') || 'nothing'}` +
        (insufficient.length ? `; insufficient data for ${insufficient.join(', ')}` : ''),
    );
  }

  notifying(): void {
    this.status.phase = 'notifying';
  }

  notified(name: string): void {
    this.status.notified.push(name);
  }

  finish(): void {
    this.status.phase = this.status.baseline?.complete === false ? 'partial' : 'done';
  }

  /** A run that did not return: how it ended, in words. Returns the phase it was in. */
  end(kind: 'failed' | 'cancelled', message: string): BaselinePhase {
    const was = this.status.phase;
    this.status.phase = kind;
    this.status.failure = message;
    return was;
  }

  /** The current details: the run as a short runbook page. */
  details(): string {
    const s = this.status;
    const lines = [
      `**Baseline of ${s.service}: ${s.phase}**${s.partial ? ` — partial: ${s.partial}` : ''}${s.failure ? ` — ${s.failure}` : ''}`,
    ];
    if (s.window)
      lines.push(`window ${s.window.start} → ${s.window.endsAt}, every ${formatDuration(s.window.intervalMs)}`);
    for (const g of s.groups) {
      const http = g.requests === undefined ? '' : `, ${g.requests} requests, ${g.errors} errors`;
      lines.push(
        `- ${g.group}: ${g.state}, ${g.ticksDone}/${g.ticksExpected} ticks (${g.recorded} recorded, ${g.missed} missed${http})${g.failure ? `: ${g.failure}` : ''}`,
      );
    }
    return lines.join('\n');
  }
}

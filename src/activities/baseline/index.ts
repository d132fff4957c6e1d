import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { z } from 'zod';
import type { OpsflowConfig } from '../../config/schema';
import type { SampledGroup } from '../../domain/baseline/input';
import type { Baseline } from '../../domain/baseline/baseline';
import { summarizeGroup, type HttpSample } from '../../domain/baseline/samples';
import type { Minimums } from '../../domain/baseline/thresholds';
import {
  baselineGateSpec,
  baselineLevelsSpec,
  resolveBaselineGate,
  resolveBaselineLevels,
  type BaselineGateSpec,
  type BaselineLevelsSpec,
  type ResolvedBaselineGate,
  type ResolvedBaselineLevels,
} from '../../domain/baseline/gate';
import { formatIssues } from '../../domain/validation';
import {
  baselineStoreRef,
  insertSample,
  latestBaseline,
  loadSamples,
  nextUnstoredTick,
  saveBaseline,
  withBaselineStore,
} from './store';
import { samplerFor } from './samplers';

export interface SampleChunkInput {
  /** `<workflowId>/<runId>`: the key of this run's samples. */
  runKey: string;
  group: SampledGroup;
  /** Tick n is due at windowStart + n × interval, so a resumed activity keeps the same rhythm. */
  windowStart: string;
  intervalMs: number;
  /** Ticks [from, until) of the window. */
  from: number;
  until: number;
  requestsPerSample: number;
}

/** Aggregates of one chunk only: history carries counts, never the samples. */
export interface ChunkResult {
  group: string;
  from: number;
  until: number;
  /** Ticks stored for [from, until): taken now or by an earlier attempt. */
  recorded: number;
  /** Ticks of the chunk with no sample (the system could not be read, or the worker was down). */
  missed: number;
  requests?: number;
  errors?: number;
}

export interface SummarizeBaselineInput {
  runKey: string;
  service: string;
  workflowId: string;
  runId: string;
  groups: SampledGroup[];
  window: Baseline['window'];
  minimums: Minimums;
  partial?: string;
}

/** How often the sampling activity heartbeats, whatever the interval: a dead worker is noticed in seconds. */
const HEARTBEAT_EVERY_MS = 1_000;

/**
 * The baseline's activities. Sampling writes each tick once, keyed by (run, group, tick), so a
 * retry or a resumed attempt after a worker crash continues where the stored ticks end; the
 * summary reads the stored ticks and upserts the baseline of the run, so both are idempotent.
 */
export function baselineActivities(config: OpsflowConfig) {
  return {
    /**
     * Samples one group for the ticks [from, until), one tick per interval, heartbeating the next
     * tick; returns the chunk's counts. A tick whose time passed by more than an interval while
     * the worker was down is missed, not taken late (it would not measure that moment).
     */
    async sampleBaselineChunk(input: SampleChunkInput): Promise<ChunkResult> {
      const ctx = Context.current();
      const ref = baselineStoreRef(config);
      const sample = samplerFor(config, input.group, input.requestsPerSample);
      const start = Date.parse(input.windowStart);
      let next = await withBaselineStore(ref, (c, t) =>
        nextUnstoredTick(c, t, input.runKey, input.group.id, input.from, input.until),
      );
      const resumedAt = (ctx.info.heartbeatDetails as { nextTick?: number } | undefined)?.nextTick;
      if (resumedAt !== undefined && resumedAt > next) next = resumedAt;
      if (ctx.info.attempt > 1)
        log.info('baseline sampling resumed', { group: input.group.id, nextTick: next, attempt: ctx.info.attempt });
      const heartbeat = setInterval(() => ctx.heartbeat({ nextTick: next }), HEARTBEAT_EVERY_MS);
      try {
        for (; next < input.until; next++) {
          const due = start + next * input.intervalMs;
          const wait = due - Date.now();
          if (wait > 0) await ctx.sleep(wait);
          else if (-wait > input.intervalMs) continue;
          let s;
          try {
            s = await sample();
          } catch (err) {
            log.warn('baseline tick missed', { group: input.group.id, tick: next, error: (err as Error).message });
            continue;
          }
          await withBaselineStore(ref, (c, t) => insertSample(c, t, input.runKey, input.group.id, next, new Date(), s));
          ctx.heartbeat({ nextTick: next + 1 });
        }
      } finally {
        clearInterval(heartbeat);
      }
      const stored = await withBaselineStore(ref, (c, t) =>
        loadSamples(c, t, input.runKey, input.group.id, input.from, input.until),
      );
      const result: ChunkResult = {
        group: input.group.id,
        from: input.from,
        until: input.until,
        recorded: stored.length,
        missed: input.until - input.from - stored.length,
      };
      if (input.group.kind === 'http') {
        const http = stored as HttpSample[];
        result.requests = http.reduce((a, x) => a + x.requests, 0);
        result.errors = http.reduce((a, x) => a + x.errors, 0);
      }
      return result;
    },

    /** Computes every group's statistics and thresholds from the stored ticks and stores the baseline. */
    async summarizeBaseline(input: SummarizeBaselineInput): Promise<Baseline> {
      const ref = baselineStoreRef(config);
      const groups = await withBaselineStore(ref, async (c, t) => {
        const out = [];
        for (const g of input.groups) {
          const samples = await loadSamples(c, t, input.runKey, g.id);
          out.push(summarizeGroup(g.id, g.kind, samples, samples.length * input.window.intervalMs, input.minimums));
        }
        return out;
      });
      const baseline: Baseline = {
        service: input.service,
        workflowId: input.workflowId,
        runId: input.runId,
        window: input.window,
        complete: input.partial === undefined,
        ...(input.partial === undefined ? {} : { partial: input.partial }),
        minimums: input.minimums,
        groups,
      };
      await saveBaseline(ref, baseline);
      return baseline;
    },

    /**
     * A health gate from the service's latest baseline (its critical thresholds), for a workflow
     * to take once at its start and keep for the run. No usable baseline (none, too old, partial,
     * insufficient for a metric needed) is a non-retryable failure saying which, unless the spec
     * gives explicit fallback thresholds. Only reads.
     */
    async resolveBaselineGate(rawSpec: BaselineGateSpec): Promise<ResolvedBaselineGate> {
      return fromLatestBaseline(config, baselineGateSpec, rawSpec, 'gate', resolveBaselineGate);
    },

    /**
     * The health check's warning and critical thresholds (CPU, memory) from the service's latest
     * baseline, by the same rules as the gate. Only reads.
     */
    async resolveBaselineThresholds(rawSpec: BaselineLevelsSpec): Promise<ResolvedBaselineLevels> {
      return fromLatestBaseline(config, baselineLevelsSpec, rawSpec, 'thresholds', resolveBaselineLevels);
    },

    /** The latest complete baseline of a service (or the latest at all, partial included). */
    async latestBaseline(input: { service: string; includePartial?: boolean }): Promise<Baseline | null> {
      return (await latestBaseline(baselineStoreRef(config), input.service, input.includePartial)) ?? null;
    },
  };
}

/**
 * Parses `rawSpec`, reads the service's latest baseline and resolves it by `resolve`; bad input or
 * no usable baseline is non-retryable (a retry would not make one), saying which.
 */
async function fromLatestBaseline<S extends z.ZodType<{ fromBaseline: string; acceptPartial: boolean }>, R>(
  config: OpsflowConfig,
  schema: S,
  rawSpec: unknown,
  field: string,
  resolve: (
    spec: z.output<S>,
    latest: Baseline | null,
    now: Date,
  ) => { ok: true; resolved: R } | { ok: false; reason: string },
): Promise<R> {
  const parsed = schema.safeParse(rawSpec);
  if (!parsed.success)
    throw ApplicationFailure.nonRetryable(
      `invalid baseline ${field}:\n${formatIssues(parsed.error, field)}`,
      'InvalidInput',
    );
  const spec = parsed.data;
  const latest = (await latestBaseline(baselineStoreRef(config), spec.fromBaseline, spec.acceptPartial)) ?? null;
  const r = resolve(spec, latest, new Date());
  if (!r.ok) throw ApplicationFailure.nonRetryable(r.reason, 'BaselineGateUnavailable');
  return r.resolved;
}

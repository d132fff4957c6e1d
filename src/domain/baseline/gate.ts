import { z } from 'zod';
import { flag, nonNegative } from '../fields';
import { targetName } from '../names';
import { durationField, formatDuration } from '../duration';
import { metricUnits, type GateThresholds, type MetricName } from '../gate/evaluate';
import type { Baseline } from './baseline';
import { isSufficient, thresholdMetrics, type ThresholdMetric } from './thresholds';

/**
 * A baseline reference (`{ "fromBaseline": "checkout" }`) of the `metrics` it may name, each
 * override or fallback a `value`: the same fields for a gate and the health check's thresholds.
 */
const fromBaselineSpec = <M extends readonly [ThresholdMetric, ...ThresholdMetric[]], V extends z.ZodType>(
  metrics: M,
  defaults: M[number][],
  value: V,
) =>
  z
    .object({
      fromBaseline: targetName,
      /** A baseline older than this (from the end of its window) is refused. */
      maxAge: durationField().default(7 * 86_400_000),
      /** Use a partial baseline (cut short or a group failed) when it is the latest. */
      acceptPartial: flag,
      /** The metrics needed from the baseline. */
      metrics: z.array(z.enum(metrics)).min(1).default(defaults),
      /** Values that replace the baseline's for these metrics. */
      overrides: z.partialRecord(z.enum(metrics), value).default({}),
      /** Values used for a metric the baseline cannot give (insufficient data), or for all when there is no usable baseline. */
      fallback: z.partialRecord(z.enum(metrics), value).optional(),
    })
    .strict();

/**
 * A gate taken from a stored baseline (`"gate": { "fromBaseline": "checkout" }`): the latest
 * complete baseline's critical thresholds become the gate's maximums, fixed at the start of the
 * run. A baseline too old, partial (unless accepted) or without enough data for a metric the gate
 * needs refuses the start with the reason, or gives way to the explicit thresholds given as fallback.
 */
export const baselineGateSpec = fromBaselineSpec(thresholdMetrics, ['errorRatePercent', 'p95Ms'], nonNegative);
export type BaselineGateSpec = z.input<typeof baselineGateSpec>;
export type ParsedBaselineGateSpec = z.output<typeof baselineGateSpec>;

export interface ResolvedBaselineGate {
  gate: GateThresholds;
  /** Where each maximum came from: "baseline http:web", "override", "fallback". */
  sources: Partial<Record<ThresholdMetric, string>>;
  /** The baseline's run and the end of its window; absent when the fallback was used for everything. */
  baseline?: BaselineTaken;
  /** For the run's status and decisions: "gate from baseline of checkout taken 2026-11-20 14:00: errorRatePercent 10 %, p95Ms 1800 ms". */
  description: string;
}

interface BaselineTaken {
  workflowId: string;
  runId: string;
  takenAt: string;
  complete: boolean;
}

export type BaselineGateResolution = { ok: true; resolved: ResolvedBaselineGate } | { ok: false; reason: string };

/** Warning and critical of one metric, as a baseline derives them. */
type Levels = { warning: number; critical: number };

/**
 * The health check's thresholds from a baseline (`"thresholds": { "fromBaseline": "checkout" }`):
 * the same rules as a gate, but both levels (warning and critical) of the host's CPU and memory,
 * the metrics the health check judges by percent.
 */
const levelMetrics = ['cpuPercent', 'memoryPercent'] as const;
type LevelMetric = (typeof levelMetrics)[number];
const levels = z
  .object({ warning: nonNegative, critical: nonNegative })
  .strict()
  .refine((l) => l.warning <= l.critical, { message: 'warning must not be above critical' });
export const baselineLevelsSpec = fromBaselineSpec(levelMetrics, [...levelMetrics], levels);
export type BaselineLevelsSpec = z.input<typeof baselineLevelsSpec>;
export type ParsedBaselineLevelsSpec = z.output<typeof baselineLevelsSpec>;

export interface ResolvedBaselineLevels {
  levels: Partial<Record<LevelMetric, Levels>>;
  sources: Partial<Record<LevelMetric, string>>;
  baseline?: BaselineTaken;
  /** "thresholds from baseline of checkout taken 2026-11-20 14:00: cpuPercent 41.2/47.8 %, memoryPercent 70/80 %" */
  description: string;
}
export type BaselineLevelsResolution = { ok: true; resolved: ResolvedBaselineLevels } | { ok: false; reason: string };

/**
 * `explicit` thresholds, or a reference to a baseline parsed by `fromBaseline`. Which one is meant
 * is told by the `fromBaseline` key, so a mistake is named in the fields of the one meant (a plain
 * union would only say "invalid input").
 */
export function explicitOrFromBaseline<E extends z.ZodType, B extends z.ZodType>(explicit: E, fromBaseline: B) {
  return z.custom<z.input<E> | z.input<B>>().transform((value, ctx): z.output<E> | z.output<B> => {
    const r = (isBaselineRef(value) ? fromBaseline : explicit).safeParse(value);
    if (r.success) return r.data as z.output<E> | z.output<B>;
    for (const issue of r.error.issues)
      ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path as (string | number)[] });
    return z.NEVER;
  });
}

/** Whether thresholds name a baseline (`{ fromBaseline: … }`) rather than give numbers. */
export function isBaselineRef<T>(value: T): value is Extract<T, { fromBaseline: string }> {
  return typeof value === 'object' && value !== null && 'fromBaseline' in value;
}

const round = (n: number) => Math.round(n * 100) / 100;
const when = (iso: string) => iso.replace('T', ' ').slice(0, 16);
const list = (gate: GateThresholds) =>
  (Object.entries(gate) as [MetricName, number][]).map(([m, v]) => `${m} ${round(v)} ${metricUnits[m]}`).join(', ');
const listLevels = (l: Partial<Record<LevelMetric, Levels>>) =>
  (Object.entries(l) as [LevelMetric, Levels][])
    .map(([m, v]) => `${m} ${round(v.warning)}/${round(v.critical)} ${metricUnits[m]}`)
    .join(', ');

/**
 * The thresholds of `metric` across the baseline's groups. With several groups (three URLs) the
 * one with the largest critical counts: a gate on the service must not fail the URL that is
 * normally slowest.
 */
function largest(
  b: Baseline,
  metric: ThresholdMetric,
): { levels: Levels; group: string } | { insufficient: string } | undefined {
  let best: { levels: Levels; group: string } | undefined;
  const insufficient: string[] = [];
  for (const g of b.groups) {
    const t = g.thresholds[metric];
    if (t === undefined) continue;
    if (!isSufficient(t)) insufficient.push(`${g.group}: ${t.insufficient}`);
    else if (!best || t.critical > best.levels.critical)
      best = { levels: { warning: t.warning, critical: t.critical }, group: g.group };
  }
  if (best) return best;
  return insufficient.length ? { insufficient: insufficient.join('; ') } : undefined;
}

/** What a gate and the health check's thresholds share: where to look, how old, what else to use. */
interface FromBaseline<M extends ThresholdMetric, V> {
  fromBaseline: string;
  maxAge: number;
  acceptPartial: boolean;
  metrics: M[];
  overrides: Partial<Record<M, V>>;
  fallback?: Partial<Record<M, V>>;
}
type Resolution<M extends ThresholdMetric, V> =
  | {
      ok: true;
      values: Partial<Record<M, V>>;
      sources: Partial<Record<M, string>>;
      baseline?: BaselineTaken;
      description: string;
    }
  | { ok: false; reason: string };

/**
 * The one rule for both: the latest baseline (`latest`, null when none) at `now`, each needed
 * metric's levels picked by `pick`; `what` ("gate", "thresholds") and `show` word the result.
 */
function resolveFrom<M extends ThresholdMetric, V>(
  spec: FromBaseline<M, V>,
  latest: Baseline | null,
  now: Date,
  what: string,
  pick: (l: Levels) => V,
  show: (values: Partial<Record<M, V>>) => string,
): Resolution<M, V> {
  const service = spec.fromBaseline;
  const fallbackAll = (why: string): Resolution<M, V> => {
    if (!spec.fallback || Object.keys(spec.fallback).length === 0)
      return { ok: false, reason: `${what} from baseline: ${why}` };
    const values = { ...spec.fallback, ...spec.overrides };
    const sources = Object.fromEntries(
      Object.keys(values).map((m) => [m, m in spec.overrides ? 'override' : 'fallback']),
    ) as Partial<Record<M, string>>;
    return { ok: true, values, sources, description: `${what} from explicit thresholds (${why}): ${show(values)}` };
  };

  if (!latest)
    return fallbackAll(
      `no ${spec.acceptPartial ? '' : 'complete '}baseline of ${service} is stored (run \`opsflow start baseline\` first)`,
    );
  if (!latest.complete && !spec.acceptPartial)
    return fallbackAll(`the latest baseline of ${service} is partial (${latest.partial}); set acceptPartial to use it`);
  const age = now.getTime() - Date.parse(latest.window.end);
  if (age > spec.maxAge)
    return fallbackAll(
      `the latest baseline of ${service}, taken ${when(latest.window.end)}, is older than ${formatDuration(spec.maxAge)}`,
    );

  const values: Partial<Record<M, V>> = {};
  const sources: Partial<Record<M, string>> = {};
  const missing: string[] = [];
  for (const metric of spec.metrics) {
    const override = spec.overrides[metric];
    if (override !== undefined) {
      values[metric] = override;
      sources[metric] = 'override';
      continue;
    }
    const found = largest(latest, metric);
    const fallback = spec.fallback?.[metric];
    if (found && 'levels' in found) {
      // Rounded to 0.01 as shown, so a failure's "> max" and the description say the same number.
      values[metric] = pick({ warning: round(found.levels.warning), critical: round(found.levels.critical) });
      sources[metric] = `baseline ${found.group}`;
    } else if (fallback !== undefined) {
      values[metric] = fallback;
      sources[metric] = 'fallback';
    } else {
      missing.push(found ? `${metric} has insufficient data (${found.insufficient})` : `${metric} was not measured`);
    }
  }
  if (missing.length)
    return {
      ok: false,
      reason: `${what} from baseline of ${service} taken ${when(latest.window.end)}: ${missing.join('; ')}`,
    };
  return {
    ok: true,
    values,
    sources,
    baseline: {
      workflowId: latest.workflowId,
      runId: latest.runId,
      takenAt: latest.window.end,
      complete: latest.complete,
    },
    description: `${what} from baseline of ${service} taken ${when(latest.window.end)}${latest.complete ? '' : ' (PARTIAL)'}: ${show(values)}`,
  };
}

/** A rollout gate from the latest baseline of the service (`latest`, or null when there is none) at `now`: its critical thresholds. */
export function resolveBaselineGate(
  spec: ParsedBaselineGateSpec,
  latest: Baseline | null,
  now: Date,
): BaselineGateResolution {
  const r = resolveFrom(spec, latest, now, 'gate', (l) => l.critical, list);
  if (!r.ok) return r;
  const { ok: _ok, values, ...rest } = r;
  return { ok: true, resolved: { gate: values, ...rest } as ResolvedBaselineGate };
}

/** The health check's warning and critical thresholds from the latest baseline of the service at `now`. */
export function resolveBaselineLevels(
  spec: ParsedBaselineLevelsSpec,
  latest: Baseline | null,
  now: Date,
): BaselineLevelsResolution {
  const r = resolveFrom(spec, latest, now, 'thresholds', (l) => l, listLevels);
  if (!r.ok) return r;
  const { ok: _ok, values, ...rest } = r;
  return { ok: true, resolved: { levels: values, ...rest } as ResolvedBaselineLevels };
}

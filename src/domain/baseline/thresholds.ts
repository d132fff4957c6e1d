import { mean, percentile, ratePercent, stdev } from './statistics';

/**
 * runbooks §5's derived thresholds, exactly, behind a minimum amount of evidence: a threshold computed
 * from a handful of samples (or a rate from a handful of requests) is noise that pages on the first
 * slow request or never fires, so below the minimum it is "insufficient data", never a number.
 */

export interface Minimums {
  /** Samples (ticks) a per-sample statistic (CPU, memory) needs. */
  samples: number;
  /** Requests a latency percentile or an error rate needs. */
  requests: number;
}

/** 30 samples is 5 minutes at 10 s; 100 requests make one error 1 %, not a 100 % error rate. */
export const defaultMinimums: Minimums = { samples: 30, requests: 100 };

/**
 * `computed`: the values the rule gave when they were above 100 % for a percentage (a window spent
 * near saturation gives mean + 3σ past 100), kept so the report can say the levels were clamped.
 */
export type Threshold =
  { warning: number; critical: number; computed?: { warning: number; critical: number } } | { insufficient: string };

export const isSufficient = (t: Threshold | undefined): t is { warning: number; critical: number } =>
  t !== undefined && !('insufficient' in t);

/** The metrics a baseline sets thresholds for (the names the rollout gate uses). */
export const thresholdMetrics = ['cpuPercent', 'memoryPercent', 'p95Ms', 'errorRatePercent'] as const;
export type ThresholdMetric = (typeof thresholdMetrics)[number];

/**
 * A percentage never exceeds 100, so a level above it could never fire: both levels are clamped to
 * 100, and what the rule computed is kept beside them.
 */
function clampPercent(t: { warning: number; critical: number }): Threshold {
  if (t.warning <= 100 && t.critical <= 100) return t;
  return { warning: Math.min(100, t.warning), critical: Math.min(100, t.critical), computed: t };
}

function tooFew(have: number, need: number, what: string): Threshold | undefined {
  return have < need ? { insufficient: `${have} ${what}, fewer than the minimum of ${need}` } : undefined;
}

/** CPU: warning = mean + 2σ, critical = mean + 3σ, at most 100 %. */
export function cpuThreshold(cpuPercent: readonly number[], m: Minimums): Threshold {
  const few = tooFew(cpuPercent.length, m.samples, 'samples');
  if (few) return few;
  const mu = mean(cpuPercent);
  const sigma = stdev(cpuPercent);
  return clampPercent({ warning: mu + 2 * sigma, critical: mu + 3 * sigma });
}

/** Memory: warning = min(85, mean + 10), critical = min(95, mean + 20). */
export function memoryThreshold(memoryPercent: readonly number[], m: Minimums): Threshold {
  const few = tooFew(memoryPercent.length, m.samples, 'samples');
  if (few) return few;
  const mu = mean(memoryPercent);
  return { warning: Math.min(85, mu + 10), critical: Math.min(95, mu + 20) };
}

/** Response time: warning = p95 × 1.5, critical = p95 × 2, over every request's latency. */
export function responseTimeThreshold(latenciesMs: readonly number[], m: Minimums): Threshold {
  const few = tooFew(latenciesMs.length, m.requests, 'requests');
  if (few) return few;
  const p95 = percentile(latenciesMs, 95);
  return { warning: p95 * 1.5, critical: p95 * 2 };
}

/**
 * Error rate in percent: warning = max(5, mean × 2), critical = max(10, mean × 3), where the mean
 * is the window's error rate over all its requests (errors ÷ requests, so a quiet tick does not
 * weigh as much as a busy one); at most 100 %.
 */
export function errorRateThreshold(errors: number, requests: number, m: Minimums): Threshold {
  const few = tooFew(requests, m.requests, 'requests');
  if (few) return few;
  const rate = ratePercent(errors, requests)!;
  return clampPercent({ warning: Math.max(5, rate * 2), critical: Math.max(10, rate * 3) });
}

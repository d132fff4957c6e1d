import type { GateThresholds, MetricName } from './evaluate';

/** One request the probe sent while watching: did it fail (HTTP >= 500 or timeout), and how long it took. */
export interface Observation {
  error: boolean;
  latencyMs: number;
}

export interface SequentialOptions {
  /** No decision on fewer answered requests than this, in total and in the stretch that is the evidence. */
  minRequests: number;
  /**
   * How sure a failure must be, e.g. 0.9999: the test's threshold is ln(1 / (1 − confidence)) on the
   * log likelihood ratio, so a backend exactly at the gate reaches it by chance about once in
   * 1 / (1 − confidence) tries of the test (see sequentialDecision).
   */
  confidence: number;
}

/** The metrics a sequence of requests can settle early; the rest wait for the end of the interval. */
type SequentialMetric = Extract<MetricName, 'errorRatePercent' | 'p95Ms' | 'p99Ms' | 'responseTimeMs'>;

interface SequentialEvidence {
  metric: SequentialMetric;
  max: number;
  /** The stretch of observations (indices from, to inclusive) that holds the evidence. */
  from: number;
  to: number;
  /** What the stretch shows, in the gate's unit (e.g. 31.2 for an error rate of 31.2 %). */
  value: number;
}

export type SequentialDecision =
  /** The evidence of failure is conclusive at the stated confidence: stop watching and report it. */
  | { decision: 'fail'; evidence: SequentialEvidence }
  /** Enough requests, no conclusive failure (yet): keep watching until the interval ends. */
  | { decision: 'undecided' }
  /** Fewer answered requests than minRequests: never a decision either way. */
  | { decision: 'too-few'; requests: number };

/** Share of requests that may be "bad" under each gated metric: the gate's own definition of it. */
function allowedShare(metric: 'errorRatePercent' | 'p95Ms' | 'p99Ms', max: number): number {
  if (metric === 'errorRatePercent') return max / 100;
  return metric === 'p95Ms' ? 0.05 : 0.01;
}

/**
 * Page's CUSUM on "bad" requests: the log likelihood ratio of a bad share twice the allowed one
 * (at most halfway to 1) against exactly the allowed one, summed request by request and never
 * below 0, so healthy traffic before a fault neither hides it nor delays it. Conclusive when the sum
 * reaches ln(1/(1 − confidence)) over a stretch of at least minRequests requests; that stretch's
 * bad share is then above the allowed one (the sum only grows while it is), so the gate itself
 * fails on it.
 */
function cusum(
  bad: boolean[],
  p0: number,
  threshold: number,
  minRequests: number,
): { from: number; to: number } | undefined {
  if (p0 >= 1) return undefined;
  if (p0 <= 0) {
    // A gate of 0: one bad request is already beyond it, no likelihood needed.
    const first = bad.indexOf(true);
    return first >= 0 && bad.length >= minRequests ? { from: 0, to: bad.length - 1 } : undefined;
  }
  const p1 = Math.min(2 * p0, (1 + p0) / 2);
  const up = Math.log(p1 / p0);
  const down = Math.log((1 - p1) / (1 - p0));
  let sum = 0;
  let from = 0;
  for (let i = 0; i < bad.length; i++) {
    sum += bad[i] ? up : down;
    if (sum <= 0) {
      sum = 0;
      from = i + 1;
    } else if (sum >= threshold && i - from + 1 >= minRequests) {
      return { from, to: i };
    }
  }
  return undefined;
}

/** One-sided standard normal quantile (Acklam's rational approximation; ample for a threshold). */
export function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    );
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * Whether the requests watched so far settle the gate as failed. Error rate, p95 and p99 use a
 * CUSUM (see cusum) on failed or slow requests; mean latency is conclusive when the lower bound
 * of its one-sided interval at the confidence is above the gate (over every request so far, as a
 * mean is). A pass is never decided early: a healthy interval is watched to its end.
 */
export function sequentialDecision(
  observations: readonly Observation[],
  gate: GateThresholds,
  opts: SequentialOptions,
): SequentialDecision {
  if (!(opts.confidence > 0.5 && opts.confidence < 1))
    throw new Error(`confidence must be between 0.5 and 1 (got ${opts.confidence})`);
  if (!(Number.isInteger(opts.minRequests) && opts.minRequests >= 1))
    throw new Error(`minRequests must be a whole number >= 1 (got ${opts.minRequests})`);
  const n = observations.length;
  if (n < opts.minRequests) return { decision: 'too-few', requests: n };
  const threshold = Math.log(1 / (1 - opts.confidence));
  for (const metric of ['errorRatePercent', 'p95Ms', 'p99Ms'] as const) {
    const max = gate[metric];
    if (max === undefined) continue;
    const bad = observations.map((o) => (metric === 'errorRatePercent' ? o.error : o.latencyMs > max));
    const hit = cusum(bad, allowedShare(metric, max), threshold, opts.minRequests);
    if (!hit) continue;
    const stretch = observations.slice(hit.from, hit.to + 1);
    const value =
      metric === 'errorRatePercent'
        ? round1((100 * stretch.filter((o) => o.error).length) / stretch.length)
        : round1(
            percentile(
              stretch.map((o) => o.latencyMs),
              metric === 'p95Ms' ? 95 : 99,
            ),
          );
    return { decision: 'fail', evidence: { metric, max, ...hit, value } };
  }
  const maxMean = gate.responseTimeMs;
  if (maxMean !== undefined && n >= 2) {
    const xs = observations.map((o) => o.latencyMs);
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    if (mean - normalQuantile(opts.confidence) * (sd / Math.sqrt(n)) > maxMean)
      return {
        decision: 'fail',
        evidence: { metric: 'responseTimeMs', max: maxMean, from: 0, to: n - 1, value: round1(mean) },
      };
  }
  return { decision: 'undecided' };
}

/** Nearest-rank percentile, as the probe's figures are computed. */
function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

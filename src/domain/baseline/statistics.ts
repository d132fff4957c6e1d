/**
 * The descriptive statistics a baseline is made of, as pure functions, so that the numbers a gate
 * later trusts are computed one way everywhere (activity, report, tests). Workflow-safe.
 */

export interface Summary {
  count: number;
  mean: number;
  median: number;
  /** Sample standard deviation (n − 1): the window is a sample of the service's behaviour. */
  stdev: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
}

const finite = (values: readonly number[]) => values.filter((v) => Number.isFinite(v));

function requireValues(values: readonly number[], what: string): number[] {
  const v = finite(values);
  if (v.length === 0) throw new RangeError(`${what} of no values`);
  return v;
}

export function mean(values: readonly number[]): number {
  const v = requireValues(values, 'mean');
  return v.reduce((a, b) => a + b, 0) / v.length;
}

/**
 * Sample standard deviation (Bessel's n − 1, like Python's `statistics.stdev`); one value has no
 * spread to measure, so it is 0 (and a threshold needs far more than one sample anyway).
 */
export function stdev(values: readonly number[]): number {
  const v = requireValues(values, 'stdev');
  if (v.length < 2) return 0;
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
}

/**
 * The q-th percentile (0–100) by linear interpolation between closest ranks (numpy's default,
 * Excel's PERCENTILE.INC): rank (n − 1)·q/100 in the sorted values.
 */
export function percentile(values: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile ${q} is not between 0 and 100`);
  const sorted = [...requireValues(values, `p${q}`)].sort((a, b) => a - b);
  const rank = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

export const median = (values: readonly number[]) => percentile(values, 50);

export function min(values: readonly number[]): number {
  return requireValues(values, 'min').reduce((a, b) => (b < a ? b : a));
}

export function max(values: readonly number[]): number {
  return requireValues(values, 'max').reduce((a, b) => (b > a ? b : a));
}

/** Every statistic of `values` (non-finite values dropped); undefined when none is left. */
export function summarize(values: readonly number[]): Summary | undefined {
  const v = finite(values);
  if (v.length === 0) return undefined;
  return {
    count: v.length,
    mean: mean(v),
    median: median(v),
    stdev: stdev(v),
    p95: percentile(v, 95),
    p99: percentile(v, 99),
    min: min(v),
    max: max(v),
  };
}

/** `part` of `total` in percent; undefined for no total (a rate of nothing is not 0 %). */
export function ratePercent(part: number, total: number): number | undefined {
  return total > 0 ? (part / total) * 100 : undefined;
}

/** Events per second over a window; undefined for an empty window. */
export function perSecond(events: number, windowMs: number): number | undefined {
  return windowMs > 0 ? events / (windowMs / 1000) : undefined;
}

/**
 * The growth of a monotonic counter (PostgreSQL blks_hit, Redis keyspace_hits) over the window,
 * from readings in time order. A reset (the server restarted: the counter went down) starts a new
 * segment, so the growth before and after it both count and the reset is never a negative rate.
 */
export function counterIncrease(readings: readonly number[]): number {
  let total = 0;
  for (let i = 1; i < readings.length; i++) {
    const d = readings[i] - readings[i - 1];
    total += d >= 0 ? d : readings[i];
  }
  return total;
}

/** Error rate and latency figures of one probe burst (pure, so it is tested on its own). */
export function probeStats(latenciesMs: number[], errors: number) {
  const n = latenciesMs.length;
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  // Nearest-rank percentile: the smallest value with at least p % of the samples at or below it.
  const pct = (p: number) => (n === 0 ? NaN : sorted[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)]);
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    requests: n,
    errorRatePercent: n === 0 ? NaN : r((errors / n) * 100),
    meanMs: n === 0 ? NaN : r(sorted.reduce((a, b) => a + b, 0) / n),
    p95Ms: r(pct(95)),
    p99Ms: r(pct(99)),
  };
}

/** A watched interval holds at least this many of a probe's pauses, whatever `pauseMs` says. */
const MIN_PAUSES_PER_INTERVAL = 10;

/**
 * The pause between a probe's bursts while an interval of `intervalMs` is watched: `pauseMs`, but
 * never more than a tenth of the interval. Whoever sets a short interval asks for a quick reaction,
 * and the sequential test needs a few bursts after a fault to be conclusive (about 60 requests at a
 * 30 % error rate against a 5 % gate): with the default 500 ms pause a 1 s interval held two
 * bursts, so a fault was only seen at the interval's end, or in the next one. The probe's traffic
 * grows to at most `requests` × 10 per interval.
 */
export function probePauseMs(pauseMs: number, intervalMs: number): number {
  return Math.max(0, Math.min(pauseMs, Math.floor(intervalMs / MIN_PAUSES_PER_INTERVAL)));
}

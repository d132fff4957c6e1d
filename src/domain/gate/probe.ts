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

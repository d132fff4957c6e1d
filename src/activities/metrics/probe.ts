import { request } from 'undici';
import type { ProbeSourceConfig } from '../../config/sections/metric-sources';
import type { MetricReading } from '../../domain/rollout/gate';
import { probeStats } from '../../domain/rollout/probe';

/**
 * N GET requests to the service (through the LB, as users reach it). A status >= 500 or a timeout
 * is an error; a refused connection is not an answer. Fewer answers than `minRequests` make every
 * reading inconclusive. Read-only, so safe to repeat.
 */
export async function sampleProbe(name: string, cfg: ProbeSourceConfig): Promise<MetricReading[]> {
  const latencies: number[] = [];
  let errors = 0;
  let unanswered = 0;
  let lastError = '';
  let next = 0;
  async function lane() {
    while (next < cfg.requests) {
      next++;
      const started = performance.now();
      try {
        const res = await request(cfg.url, {
          headers: { 'user-agent': 'opsflow-rollout-probe' },
          headersTimeout: cfg.timeoutMs,
          bodyTimeout: cfg.timeoutMs,
          signal: AbortSignal.timeout(cfg.timeoutMs),
        });
        await res.body.dump();
        latencies.push(performance.now() - started);
        if (res.statusCode >= 500) errors++;
      } catch (err) {
        const e = err as Error & { code?: string };
        if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
          latencies.push(cfg.timeoutMs);
          errors++;
        } else {
          unanswered++;
          lastError = e.message;
        }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(cfg.concurrency, cfg.requests) }, lane));
  const stats = probeStats(latencies, errors);
  const why =
    latencies.length < cfg.minRequests
      ? `${latencies.length} of ${cfg.requests} requests answered, fewer than minRequests ${cfg.minRequests}` +
        (unanswered ? ` (${unanswered} failed: ${lastError})` : '')
      : undefined;
  const reading = (metric: MetricReading['metric'], value: number): MetricReading =>
    why ? { metric, source: name, inconclusive: why } : { metric, source: name, value };
  return [
    reading('errorRatePercent', stats.errorRatePercent),
    reading('responseTimeMs', stats.meanMs),
    reading('p95Ms', stats.p95Ms),
    reading('p99Ms', stats.p99Ms),
  ];
}

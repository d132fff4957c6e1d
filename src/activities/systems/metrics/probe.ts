import { request } from 'undici';
import type { ProbeSourceConfig } from '../../../config/sections/metric-sources';
import type { MetricReading } from '../../../domain/gate/evaluate';
import { probeStats } from '../../../domain/gate/probe';
import type { Observation } from '../../../domain/gate/sequential';

/** What one burst of probe requests saw: the answered requests, and how many got no answer at all. */
export interface ProbeBurst {
  observations: Observation[];
  unanswered: number;
  lastError: string;
}

/**
 * `cfg.requests` GET requests to the service (through the LB, as users reach it), `concurrency` at
 * a time. A status >= 500 or a timeout is an error; a refused connection is not an answer.
 */
export async function probeBurst(cfg: ProbeSourceConfig, signal?: AbortSignal): Promise<ProbeBurst> {
  const observations: Observation[] = [];
  let unanswered = 0;
  let lastError = '';
  let next = 0;
  async function lane() {
    while (next < cfg.requests && !signal?.aborted) {
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
        observations.push({ error: res.statusCode >= 500, latencyMs: performance.now() - started });
      } catch (err) {
        const e = err as Error & { code?: string };
        if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
          observations.push({ error: true, latencyMs: cfg.timeoutMs });
        } else {
          unanswered++;
          lastError = e.message;
        }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(cfg.concurrency, cfg.requests) }, lane));
  return { observations, unanswered, lastError };
}

/**
 * The probe's readings from what it observed. Fewer answers than `minRequests` make every reading
 * inconclusive; `planned` is how many requests were sent, for the message.
 */
export function probeReadings(
  name: string,
  cfg: ProbeSourceConfig,
  observations: Observation[],
  planned: number,
  unanswered: number,
  lastError: string,
): MetricReading[] {
  const stats = probeStats(
    observations.map((o) => o.latencyMs),
    observations.filter((o) => o.error).length,
  );
  const why =
    observations.length < cfg.minRequests
      ? `${observations.length} of ${planned} requests answered, fewer than minRequests ${cfg.minRequests}` +
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

/** One burst, judged as one sample. Read-only, so safe to repeat. */
export async function sampleProbe(name: string, cfg: ProbeSourceConfig): Promise<MetricReading[]> {
  const b = await probeBurst(cfg);
  return probeReadings(name, cfg, b.observations, cfg.requests, b.unanswered, b.lastError);
}

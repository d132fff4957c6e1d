import { request } from 'undici';
import { resolveOptionalSecret } from '../../../config/secrets';
import type { HttpStatsSourceConfig } from '../../../config/sections/metric-sources';
import type { MetricName, MetricReading } from '../../../domain/gate/evaluate';

/**
 * The runbook's statistics endpoint, per cohort: error count, total requests, average response
 * time and complaints. Too few requests, or an answer without a number, is inconclusive for that
 * metric, never a pass; an unreachable endpoint is inconclusive for all three. Read-only.
 */
export async function sampleHttpStats(
  name: string,
  cfg: HttpStatsSourceConfig,
  service: string,
  cohort?: string,
): Promise<MetricReading[]> {
  const metrics: MetricName[] = ['errorRatePercent', 'responseTimeMs', 'complaints'];
  const all = (why: string) => metrics.map((metric) => ({ metric, source: name, inconclusive: why }));
  const token = resolveOptionalSecret(cfg.token, `metricSources.${name}.token`);
  const url = `${cfg.url}?${new URLSearchParams({ service, ...(cohort ? { cohort } : {}) })}`;
  let body: { errors?: unknown; total?: unknown; avgResponseMs?: unknown; complaints?: unknown };
  try {
    const res = await request(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      headersTimeout: cfg.timeoutMs,
      bodyTimeout: cfg.timeoutMs,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) return all(`stats answered HTTP ${res.statusCode}`);
    body = JSON.parse(text);
  } catch (err) {
    return all(`stats unreachable: ${(err as Error).message}`);
  }
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const errors = num(body.errors);
  const total = num(body.total);
  const avg = num(body.avgResponseMs);
  const complaints = num(body.complaints);
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return [
    errors === undefined || total === undefined
      ? { metric: 'errorRatePercent', source: name, inconclusive: 'no errors/total in the answer' }
      : total < cfg.minRequests
        ? { metric: 'errorRatePercent', source: name, inconclusive: `${total} requests, fewer than ${cfg.minRequests}` }
        : { metric: 'errorRatePercent', source: name, value: round((100 * errors) / total) },
    avg === undefined || total === undefined || total === 0
      ? { metric: 'responseTimeMs', source: name, inconclusive: 'no average response time (no requests?)' }
      : { metric: 'responseTimeMs', source: name, value: round(avg) },
    complaints === undefined
      ? { metric: 'complaints', source: name, inconclusive: 'no complaints count in the answer' }
      : { metric: 'complaints', source: name, value: complaints },
  ];
}

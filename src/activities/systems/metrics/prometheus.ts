import { request } from 'undici';
import { resolveOptionalSecret } from '../../../config/secrets';
import type { PrometheusSourceConfig } from '../../../config/sections/metric-sources';
import { promQueries } from '../../../config/sections/metric-sources';
import type { MetricName, MetricReading } from '../../../domain/gate/evaluate';

/**
 * One instant query per metric. An empty vector, NaN or ±Inf (no traffic: 0/0) is inconclusive,
 * never 0 and never a pass; so is an unreachable Prometheus. Read-only, so safe to repeat.
 */
export async function samplePrometheus(
  name: string,
  cfg: PrometheusSourceConfig,
  service: string,
): Promise<MetricReading[]> {
  const token = resolveOptionalSecret(cfg.token, `metricSources.${name}.token`);
  const base = cfg.url.replace(/\/+$/, '');
  return Promise.all(
    Object.entries(promQueries(cfg)).map(async ([metric, q]): Promise<MetricReading> => {
      const reading = { metric: metric as MetricName, source: name };
      const query = q!.replaceAll('$service', service);
      try {
        const res = await request(`${base}/api/v1/query?${new URLSearchParams({ query })}`, {
          headers: token ? { authorization: `Bearer ${token}` } : {},
          headersTimeout: cfg.timeoutMs,
          bodyTimeout: cfg.timeoutMs,
          signal: AbortSignal.timeout(cfg.timeoutMs),
        });
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Prometheus's JSON, checked field by field below
        const body = (await res.body.json().catch(() => ({}))) as any;
        if (res.statusCode !== 200 || body.status !== 'success')
          return {
            ...reading,
            inconclusive: `Prometheus answered HTTP ${res.statusCode}: ${body.error ?? 'no result'}`,
          };
        const result = body.data?.result;
        const raw =
          body.data?.resultType === 'scalar'
            ? result?.[1]
            : Array.isArray(result) && result.length > 0
              ? result[0].value?.[1]
              : undefined;
        if (raw === undefined) return { ...reading, inconclusive: `empty result for ${query}` };
        if (Array.isArray(result) && result.length > 1)
          return { ...reading, inconclusive: `${result.length} series where one was expected (aggregate the query)` };
        const value = Number(raw);
        if (!Number.isFinite(value)) return { ...reading, inconclusive: `${raw} (no traffic?) for ${query}` };
        return { ...reading, value: Math.round(value * 1000) / 1000 };
      } catch (err) {
        return { ...reading, inconclusive: `Prometheus ${base} unreachable: ${(err as Error).message}` };
      }
    }),
  );
}

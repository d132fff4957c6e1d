import type { MetricSourceConfig, PrometheusSourceConfig } from '../config/sections/metric-sources';
import type { MetricName } from './rollout/gate';

/**
 * runbooks §1's numbers as PromQL; a Prometheus source's `queries` are merged over them. `$service`
 * is replaced by the service's name (and `$cohort` by a cutover batch's).
 */
export const defaultPromQueries: Record<string, string> = {
  errorRatePercent:
    '100 * sum(rate(http_requests_total{service="$service",code=~"5.."}[1m])) / sum(rate(http_requests_total{service="$service"}[1m]))',
  responseTimeMs:
    '1000 * sum(rate(http_request_duration_seconds_sum{service="$service"}[1m])) / sum(rate(http_request_duration_seconds_count{service="$service"}[1m]))',
  p95Ms: '1000 * histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{service="$service"}[1m])))',
};

/** The PromQL of each metric this source reports: defaults, overridden or dropped (`null`) by config. */
export function promQueries(cfg: PrometheusSourceConfig): Partial<Record<MetricName, string>> {
  const merged: Record<string, string | null> = { ...defaultPromQueries, ...cfg.queries };
  return Object.fromEntries(Object.entries(merged).filter(([, q]) => q !== null)) as Partial<Record<MetricName, string>>;
}

/**
 * Which gate metrics a configured source reports. Pure, so that the CLI can refuse an input whose
 * gate names a metric no source reports before anything starts, by the same rule as the plan.
 */
export function metricsOf(cfg: MetricSourceConfig): MetricName[] {
  switch (cfg.type) {
    case 'prometheus':
      return Object.keys(promQueries(cfg)) as MetricName[];
    case 'probe':
      return ['errorRatePercent', 'responseTimeMs', 'p95Ms', 'p99Ms'];
    case 'host':
      return ['cpuPercent', 'memoryPercent'];
    case 'http-stats':
      return ['errorRatePercent', 'responseTimeMs', 'complaints'];
    case 'postgres-count':
      return [cfg.metric];
  }
}

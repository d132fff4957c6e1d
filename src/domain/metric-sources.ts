/**
 * runbooks §1's numbers as PromQL; a Prometheus source's `queries` are merged over them. `$service`
 * is replaced by the service's name (and `$cohort` by a cutover batch's).
 */
export const defaultPromQueries: Record<string, string> = {
  errorRatePercent:
    '100 * sum(rate(http_requests_total{service="$service",code=~"5.."}[1m])) / sum(rate(http_requests_total{service="$service"}[1m]))',
  responseTimeMs:
    '1000 * sum(rate(http_request_duration_seconds_sum{service="$service"}[1m])) / sum(rate(http_request_duration_seconds_count{service="$service"}[1m]))',
  p95Ms:
    '1000 * histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{service="$service"}[1m])))',
};

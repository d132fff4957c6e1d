import { z } from 'zod';
import { count, httpUrl, nonEmpty, nonNegativeInt, positiveInt, typed } from '../../domain/fields';
import { secretRef } from '../secrets';
import { metricName, type MetricName } from '../../domain/gate/evaluate';
import { targetName } from '../../domain/names';
import { sqlIdentifier, sqlTable } from './sql-names';

/**
 * Where a rollout's health gate reads its numbers (`"metricSources": ["prom"]` in an input).
 * PromQL may use `$service`, replaced by the rollout's service name; the default queries are
 * runbooks §1's (`defaultPromQueries`).
 */
import { defaultPromQueries } from '../../domain/metric-sources';
import { nameChecks, type Issue } from '../references';

const prometheusSource = typed('prometheus', {
  url: httpUrl,
  /** PromQL per gate metric; merged over the defaults, `null` drops a default. */
  queries: z.partialRecord(metricName, nonEmpty.nullable()).default({}),
  token: secretRef.optional(),
  timeoutMs: positiveInt.default(10_000),
});

/** N requests to the service (usually through the LB): error rate, mean, p95 and p99 latency. */
const probeSource = typed('probe', {
  url: httpUrl,
  requests: count.max(10_000).default(50),
  /** Fewer answered requests than this make the sample inconclusive, never a pass. */
  minRequests: count.default(20),
  concurrency: count.max(100).default(5),
  /** A response slower than this, or with a status >= 500, counts as an error. */
  timeoutMs: positiveInt.default(5_000),
  /**
   * While a rollout watches an interval, a burst of `requests` goes out, then this pause, again and
   * again until the interval ends or the failure is conclusive. An interval shorter than ten pauses
   * shortens them to a tenth of it (domain/gate/probe.ts, probePauseMs).
   */
  pauseMs: nonNegativeInt.max(60_000).default(500),
  /** How sure the sequential test must be before it ends an interval early as failed (0.5 < c < 1). */
  confidence: z.number().gt(0.5).lt(1).default(0.9999),
}).refine((p) => p.minRequests <= p.requests, {
  message: 'minRequests must not exceed requests',
  path: ['minRequests'],
});

/** CPU and memory of the worker's host (systeminformation). */
const hostSource = typed('host', {});

/**
 * The runbook's per-cohort statistics: `GET {url}?service=…&cohort=…` answers
 * `{"errors", "total", "avgResponseMs", "complaints"}` counted since the cohort moved.
 */
const httpStatsSource = typed('http-stats', {
  url: httpUrl,
  token: secretRef.optional(),
  /** Fewer requests than this in a sample make its error rate inconclusive, never a pass. */
  minRequests: count.default(20),
  timeoutMs: positiveInt.default(10_000),
});

/**
 * A count of rows since a cutover batch started, e.g. complaints in a `complaints` table:
 * `SELECT count(*) FROM <table> WHERE <timestampColumn> >= <batch start> [AND <cohortColumn> = <batch name>]`.
 * Names come from this config (validated, quoted), values are parameters.
 */
const postgresCountSource = typed('postgres-count', {
  /** The config.postgres database holding the table. */
  postgres: targetName,
  table: sqlTable,
  /** When the row happened (timestamptz; a timestamp without zone is read as UTC). */
  timestampColumn: sqlIdentifier,
  /** The batch (cohort) a row belongs to, compared with the batch's name; without it every row counts. */
  cohortColumn: sqlIdentifier.optional(),
  /** The gate metric the count is. */
  metric: z.enum(['complaints']).default('complaints'),
  timeoutMs: positiveInt.default(10_000),
});

export const metricSourceConfig = z.discriminatedUnion('type', [
  prometheusSource,
  probeSource,
  hostSource,
  httpStatsSource,
  postgresCountSource,
]);

/** A postgres-count source must name a database of config.postgres. */
export function checkMetricSourceReferences(
  sources: Record<string, MetricSourceConfig>,
  known: { postgres: Record<string, unknown> },
  issue: Issue,
): void {
  for (const [name, s] of Object.entries(sources))
    if (s.type === 'postgres-count')
      nameChecks(issue).one(['metricSources', name, 'postgres'], s.postgres, known.postgres, 'postgres target');
}
export type HttpStatsSourceConfig = z.infer<typeof httpStatsSource>;
export type MetricSourceConfig = z.infer<typeof metricSourceConfig>;
export type PrometheusSourceConfig = z.infer<typeof prometheusSource>;
export type ProbeSourceConfig = z.infer<typeof probeSource>;
export type PostgresCountSourceConfig = z.infer<typeof postgresCountSource>;

/** The PromQL of each metric this source reports: defaults, overridden or dropped (`null`) by config. */
export function promQueries(cfg: PrometheusSourceConfig): Partial<Record<MetricName, string>> {
  const merged: Record<string, string | null> = { ...defaultPromQueries, ...cfg.queries };
  return Object.fromEntries(Object.entries(merged).filter(([, q]) => q !== null)) as Partial<
    Record<MetricName, string>
  >;
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

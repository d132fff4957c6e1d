import { ApplicationFailure } from '@temporalio/activity';
import { whileHeartbeating } from '../../heartbeat';
import type { OpsflowConfig } from '../../../config/schema';
import type { MetricSourceConfig } from '../../../config/sections/metric-sources';
import type { MetricReading, Sample } from '../../../domain/gate/evaluate';
import { samplePrometheus } from './prometheus';
import { sampleProbe } from './probe';
import { sampleHost } from './host';
import { sampleHttpStats } from './http-stats';
import { samplePostgresCount } from './postgres-count';
import { watchMetrics, type WatchArgs, type WatchedSample } from './watch';

export function lookupMetricSource(config: OpsflowConfig, name: string): MetricSourceConfig {
  const cfg = config.metricSources[name];
  if (!cfg)
    throw ApplicationFailure.nonRetryable(
      `unknown metric source "${name}" (not in config.metricSources)`,
      'UnknownMetricSource',
    );
  return cfg;
}

/**
 * The rollout's sampling activity: every named source at once, one Sample. It only reads, so a
 * retry is harmless; a source that cannot answer gives inconclusive readings instead of failing,
 * so that the workflow's policy (not an activity retry) decides what doubt means.
 */
export function metricActivities(config: OpsflowConfig) {
  return {
    async sampleRolloutMetrics(args: { service: string; sources: string[] }): Promise<Sample> {
      const cfgs = args.sources.map((s) => [s, lookupMetricSource(config, s)] as const);
      return whileHeartbeating(async () => {
        const readings = await Promise.all(
          cfgs.map(([name, cfg]) => sampleSource(config, name, cfg, { service: args.service })),
        );
        return { at: new Date().toISOString(), readings: readings.flat() };
      });
    },
    /** One sample interval watched continuously; it ends early only on conclusive failure (see watchMetrics). */
    async watchRolloutMetrics(args: WatchArgs): Promise<WatchedSample> {
      return watchScope(config, args, { service: args.service });
    },
    /** A cutover batch's interval watched the same way, from the cohort's own series (see cohortSource). */
    async watchCohortMetrics(args: WatchArgs & { cohort: string; since?: string }): Promise<WatchedSample> {
      return watchScope(config, args, { service: args.service, cohort: args.cohort, since: args.since });
    },
  };
}

/** The one watch both activities run: the arguments checked, then the interval watched for `scope`. */
function watchScope(config: OpsflowConfig, args: WatchArgs, scope: SampleScope): Promise<WatchedSample> {
  for (const s of args.sources) lookupMetricSource(config, s);
  if (!(Number.isFinite(args.durationMs) && args.durationMs > 0))
    throw ApplicationFailure.nonRetryable(
      `durationMs must be a positive number of milliseconds (got ${args.durationMs})`,
      'InvalidWatch',
    );
  if (scope.cohort !== undefined && scope.cohort.trim() === '')
    throw ApplicationFailure.nonRetryable('cohort must name the batch (got an empty string)', 'InvalidWatch');
  return whileHeartbeating(
    () => watchMetrics(config, args, (name, cfg) => cohortSource(config, name, cfg, scope)),
    1_000,
  );
}

/**
 * Reads one source for `scope`; for a cohort, Prometheus queries get the batch's name for
 * `$cohort`, so the cohort's own series is read. Sampling and watching a cohort both read this way.
 */
export function cohortSource(
  config: OpsflowConfig,
  name: string,
  cfg: MetricSourceConfig,
  scope: SampleScope,
): Promise<MetricReading[]> {
  const { cohort } = scope;
  if (cohort === undefined || cfg.type !== 'prometheus') return sampleSource(config, name, cfg, scope);
  const queries = Object.fromEntries(
    Object.entries({ ...cfg.queries }).map(([m, q]) => [m, q?.replaceAll('$cohort', cohort) ?? null]),
  );
  return sampleSource(config, name, { ...cfg, queries }, scope);
}

/** What a sample is of: the service, and for a cutover the batch (its name as cohort, and its start). */
export interface SampleScope {
  service: string;
  /** A cutover batch's name, for sources that report per cohort. */
  cohort?: string;
  /** When the cutover batch started (ISO), for sources that count since then. */
  since?: string;
}

function sampleSource(
  config: OpsflowConfig,
  name: string,
  cfg: MetricSourceConfig,
  scope: SampleScope,
): Promise<MetricReading[]> {
  switch (cfg.type) {
    case 'prometheus':
      return samplePrometheus(name, cfg, scope.service);
    case 'probe':
      return sampleProbe(name, cfg);
    case 'host':
      return sampleHost(name);
    case 'http-stats':
      return sampleHttpStats(name, cfg, scope.service, scope.cohort);
    case 'postgres-count':
      return samplePostgresCount(name, cfg, config, scope);
  }
}

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
      for (const s of args.sources) lookupMetricSource(config, s);
      if (!(Number.isFinite(args.durationMs) && args.durationMs > 0))
        throw ApplicationFailure.nonRetryable(
          `durationMs must be a positive number of milliseconds (got ${args.durationMs})`,
          'InvalidWatch',
        );
      return whileHeartbeating(
        () => watchMetrics(config, args, (name, cfg) => sampleSource(config, name, cfg, { service: args.service })),
        1_000,
      );
    },
  };
}

/** What a sample is of: the service, and for a cutover the batch (its name as cohort, and its start). */
export interface SampleScope {
  service: string;
  /** A cutover batch's name, for sources that report per cohort. */
  cohort?: string;
  /** When the cutover batch started (ISO), for sources that count since then. */
  since?: string;
}

export function sampleSource(
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

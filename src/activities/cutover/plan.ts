import { ApplicationFailure } from '@temporalio/activity';
import type { OpsflowConfig } from '../../config/schema';
import type { MetricName, MetricReading, Sample } from '../../domain/gate/evaluate';
import type { UserCutoverInput } from '../../domain/cutover/input';
import { userCutoverInputNames } from '../../config/input-names';
import { describeUnknownName } from '../../domain/config-names';
import { configTarget } from '../config-target';
import { cohortSource, lookupMetricSource } from '../systems/metrics';
import { metricsOf } from '../../config/sections/metric-sources';
import { checkPostgresCount } from '../systems/metrics/postgres-count';
import { whileHeartbeating } from '../heartbeat';
import { cutoverStoreRef } from '../cutover-store/store';

export interface CutoverPlan {
  routerKind: string;
  /** Which sources report which gate metric. */
  providers: Partial<Record<MetricName, string[]>>;
  /** Things a person should know (a batch threshold no source reports is left out of the gate). */
  notes: string[];
}

/**
 * Checks every name the input uses against the worker's config, and every metric the batches'
 * thresholds name against the sources (`userCutoverInputNames`, the check the CLI makes before it
 * starts a run), and says which of runbooks §3's fixed limits the sources cannot judge. A cohort's
 * metrics come from its own series: Prometheus queries may use `$cohort` (the batch name) besides
 * `$service`.
 */
export function cutoverPlanActivities(config: OpsflowConfig) {
  return {
    async planCutover(input: UserCutoverInput): Promise<CutoverPlan> {
      const unknown = userCutoverInputNames(input, config);
      if (unknown.length > 0)
        throw ApplicationFailure.nonRetryable(
          unknown.map((u) => describeUnknownName(u, 'the worker config')).join('; '),
          'UnknownTarget',
        );
      cutoverStoreRef(config);
      const providers: Partial<Record<MetricName, string[]>> = {};
      for (const name of input.metricSources)
        for (const m of metricsOf(lookupMetricSource(config, name))) (providers[m] ??= []).push(name);
      // A count whose table or columns are wrong would hold every batch: refused before anyone moves.
      for (const name of input.metricSources) {
        const cfg = lookupMetricSource(config, name);
        const wrong = cfg.type === 'postgres-count' ? await checkPostgresCount(name, cfg, config) : undefined;
        if (wrong) throw ApplicationFailure.nonRetryable(wrong, 'MetricSourceUnusable');
      }
      // The gate's named metrics each have a source (checked with the names above); what the
      // batches leave to runbooks §3's fixed limits is judged only where a source reports it.
      const notes = (['responseTimeMs', 'complaints'] as const)
        .filter((m) => !providers[m])
        .map((m) => `no metric source reports ${m}: its threshold is not judged`);
      return { routerKind: configTarget(config.routers, 'routers', input.router).type, providers, notes };
    },

    /** One sample of a cohort's own metrics from every named source; a source that cannot answer is inconclusive. */
    async sampleCohortMetrics(args: {
      service: string;
      cohort: string;
      since?: string;
      sources: string[];
    }): Promise<Sample> {
      const cfgs = args.sources.map((s) => [s, lookupMetricSource(config, s)] as const);
      const scope = { service: args.service, cohort: args.cohort, since: args.since };
      return whileHeartbeating(async () => {
        const readings: MetricReading[][] = await Promise.all(
          cfgs.map(([name, cfg]) => cohortSource(config, name, cfg, scope)),
        );
        return { at: new Date().toISOString(), readings: readings.flat() };
      });
    },
  };
}

import { ApplicationFailure } from '@temporalio/activity';
import type { OpsflowConfig } from '../../config/schema';
import { defaultGate, metricNames, type GateThresholds, type MetricName } from '../../domain/gate/evaluate';
import type { PlannableRollout, RolloutPlan } from '../../domain/rollout/input';
import { lookupMetricSource } from '../systems/metrics';
import { metricsOf } from '../../config/sections/metric-sources';
import { adapterFor } from '../systems/load-balancer/adapters';

/**
 * Resolves a rollout input against the worker's config before anything is touched: the LB and both
 * servers exist (asked of the LB itself, read-only), every notifier and metric source exists, and
 * every gated metric has a source. Read-only, so safe to retry; what is wrong is non-retryable.
 */
export function planRollout(config: OpsflowConfig) {
  return async (input: PlannableRollout): Promise<RolloutPlan> => {
    const lbCfg = config.loadBalancers[input.lb];
    if (!lbCfg)
      throw ApplicationFailure.nonRetryable(
        `lb: unknown load balancer "${input.lb}" (not in config.loadBalancers)`,
        'UnknownLoadBalancer',
      );
    for (const n of [...input.notify, ...(input.stakeholders ?? [])]) {
      if (!config.notifiers[n])
        throw ApplicationFailure.nonRetryable(
          `notify: unknown notifier "${n}" (not in config.notifiers)`,
          'UnknownNotifier',
        );
    }
    const providers: Record<string, string[]> = {};
    for (const s of input.metricSources) {
      const source = lookupMetricSource(config, s);
      // Its readings would all be inconclusive and hold the rollout: refused while nothing moved.
      if (source.type === 'postgres-count')
        throw ApplicationFailure.nonRetryable(
          `metricSources: "${s}" is a postgres-count source, which counts rows since a cutover batch started; a rollout has no batch`,
          'MetricSourceUnusable',
        );
      for (const m of metricsOf(source)) (providers[m] ??= []).push(s);
    }
    const notes: string[] = [];
    let gate: GateThresholds;
    if (input.gate) {
      for (const m of Object.keys(input.gate) as MetricName[]) {
        if (!providers[m])
          throw ApplicationFailure.nonRetryable(
            `gate.${m}: no metric source reports it (metricSources ${input.metricSources.join(', ')} report ${Object.keys(providers).join(', ') || 'nothing'})`,
            'GateWithoutSource',
          );
      }
      gate = input.gate;
    } else {
      gate = Object.fromEntries(
        metricNames.filter((m) => defaultGate[m] !== undefined && providers[m]).map((m) => [m, defaultGate[m]]),
      );
      const dropped = metricNames.filter((m) => defaultGate[m] !== undefined && !providers[m]);
      if (Object.keys(gate).length === 0)
        throw ApplicationFailure.nonRetryable(
          `gate: none of metricSources ${input.metricSources.join(', ')} reports a default gate metric`,
          'GateWithoutSource',
        );
      if (dropped.length) notes.push(`default gate metrics without a source, not gated: ${dropped.join(', ')}`);
    }
    const lb = adapterFor(input.lb, lbCfg);
    await lb.checkServers([input.backends.old, input.backends.new]);
    if (!lb.supportsCohorts && input.steps.some((s) => s.targetUsers?.length))
      notes.push(`${lb.kind} cannot route by cohort: targetUsers is ignored and the split applies to all users`);
    return { lbKind: lb.kind, supportsCohorts: lb.supportsCohorts, gate, providers, notes };
  };
}

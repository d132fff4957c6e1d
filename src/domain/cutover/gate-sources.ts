import type { UnknownName } from '../config-names';
import { isBaselineRef } from '../baseline/gate';
import type { MetricName } from '../gate/evaluate';
import { batchMetrics, type UserCutoverInput } from './input';

/**
 * The gate metrics of a cutover input that none of its metric sources reports (`sources`: the
 * metrics each configured source reports), each named by its
 * field and the batches it gates. A batch's named thresholds must each have a source (a threshold
 * nobody reports would hold every batch as inconclusive, or pass it unjudged); a batch from a
 * baseline needs a source for at least one of the metrics it asks the baseline for. Unknown
 * source names are left to the name check. The CLI calls this before it starts a run and the plan
 * activity before anyone is listed: one rule, one message.
 */
export function cutoverGateSourceIssues(
  input: UserCutoverInput,
  sources: Record<string, readonly MetricName[]>,
): UnknownName[] {
  const named = input.metricSources.filter((s) => sources[s] !== undefined);
  if (named.length < input.metricSources.length) return [];
  const reported = new Set<MetricName>(named.flatMap((s) => sources[s]));
  const known = [...reported];
  const list = named.join(', ');
  // The input's own thresholds are checked once, for every batch that takes them.
  const uses = new Map<string, number[]>();
  input.batches.forEach((b, i) => {
    const field = b.thresholds !== undefined ? `batches.${i}.thresholds` : 'thresholds';
    uses.set(field, [...(uses.get(field) ?? []), i]);
  });
  const issues: UnknownName[] = [];
  for (const [field, batches] of uses) {
    const t = field === 'thresholds' ? input.thresholds : input.batches[batches[0]].thresholds;
    if (t === undefined) continue;
    const what = `reported by metricSources ${list} (${batches.map((i) => `batch "${input.batches[i].name}"`).join(', ')} ${batches.length > 1 ? 'are' : 'is'} gated on it)`;
    if (isBaselineRef(t)) {
      if (!t.metrics.some((m) => reported.has(m)))
        issues.push({ field: `${field}.metrics`, name: t.metrics.join(', '), what, known });
      continue;
    }
    for (const m of batchMetrics)
      if (t[m] !== undefined && !reported.has(m)) issues.push({ field: `${field}.${m}`, name: m, what, known });
  }
  return issues;
}

// Why: thresholds from a baseline are asked once, before anyone is moved, and kept in the status
// (carried across continue-as-new), so every batch is judged by the same numbers in a replay too.
import * as wf from '@temporalio/workflow';
import { baselineRefs } from '../../domain/cutover/input';
import type { MetricName } from '../../domain/gate/evaluate';
import { failureMessage } from '../common/failure';
import { withSummary } from '../common/progress';
import { acts, planOptions } from './activities';
import type { Cutover } from './steps';

/** Marks runs that may resolve thresholds from baselines; asked only by inputs that use them, so older histories replay untouched. */
const THRESHOLDS_FROM_BASELINE = 'cutover-thresholds-from-baseline';

/**
 * Resolves every distinct `fromBaseline` reference of the batches (the config name check cannot
 * see baselines); none usable, too old or without a needed metric fails the start naming it,
 * unless the reference gives fallback thresholds.
 */
export async function resolveThresholds(cutover: Cutover): Promise<void> {
  const { run } = cutover;
  const refs = baselineRefs(run.input);
  if (refs.length === 0) return;
  if (!wf.patched(THRESHOLDS_FROM_BASELINE))
    throw wf.ApplicationFailure.nonRetryable(
      'thresholds.fromBaseline: this run was recorded before cutover thresholds from baselines existed',
      'InvalidInput',
    );
  for (const { key, spec, batches } of refs) {
    try {
      const resolved = await acts.resolveBaselineGate.executeWithOptions(
        withSummary(planOptions, `thresholds from the latest baseline of ${spec.fromBaseline}`),
        [spec],
      );
      run.thresholdsResolved(key, resolved, batches);
      // The batch gate judges only what the sources report: say so rather than drop a baseline's threshold silently.
      for (const m of Object.keys(resolved.gate))
        if (cutover.plan && !cutover.plan.providers[m as MetricName])
          run.decide(`no metric source reports ${m}: the baseline's threshold for it is not judged`);
    } catch (err) {
      throw wf.ApplicationFailure.nonRetryable(
        `cannot cut over ${run.input.service}, nobody was moved: ${failureMessage(err)}`,
        'BaselineGateUnavailable',
      );
    }
  }
}

import * as wf from '@temporalio/workflow';
import { diagnosticsInput, type DiagnosticsInput } from '../../domain/diagnostics/input';
import type { DiagnosticsResult, Section } from '../../domain/diagnostics/findings';
import { parseInput } from '../input';
import { RunEnding } from '../common/ending';
import { failureMessage, isNonRetryable } from '../common/failure';
import { Progress } from '../common/progress';
import { acts, summaryOf } from './activities';
import { DiagnosticsState } from './state';
import { statusQuery } from './messages';

/**
 * runbooks §9 as a workflow: look at a PostgreSQL target and/or the host, the same activities
 * incident response uses, and hand back the findings and a Markdown report. A part that cannot be
 * collected says why in the report and the others still come; a wrong name fails the run.
 */
export async function diagnosticsWorkflow(rawInput: DiagnosticsInput = {}): Promise<DiagnosticsResult> {
  const ending = new RunEnding();
  return ending.run(async () => {
    const plan = parseInput(diagnosticsInput, rawInput, 'diagnosticsWorkflow');
    const state = new DiagnosticsState(plan);
    wf.setHandler(statusQuery, () => state.status);
    const progress = new Progress(() => state.details());
    ending.onEnd(({ kind, message }) => {
      const words = state.ended(kind, message);
      progress.end([]);
      return words;
    });
    const collectedAt = new Date().toISOString();
    progress.show();

    await Promise.all([
      plan.postgres !== undefined &&
        collect(
          acts.diagnosePostgres.executeWithOptions(summaryOf(`PostgreSQL ${plan.postgres}`), [plan.postgres]),
        ).then((s) => state.gotPostgres(s)),
      plan.host &&
        collect(acts.diagnoseHost.executeWithOptions(summaryOf('host state and top processes'), [])).then((s) =>
          state.gotHost(s),
        ),
    ]);

    const result = state.finish(collectedAt);
    progress.show();
    return result;
  });
}

/** A part's findings, or its failure in words; a non-retryable failure (unknown target) ends the run. */
async function collect<T>(p: Promise<T>): Promise<Section<T>> {
  try {
    return { ok: true, findings: await p };
  } catch (err) {
    if (wf.isCancellation(err) || isNonRetryable(err)) throw err;
    return { ok: false, error: failureMessage(err) };
  }
}

// Why: a run that can last days must start a fresh history before Temporal's limits, carrying its
// state; the check and the hand-over (after every signal handler has finished) live here once.
import * as wf from '@temporalio/workflow';

/** Temporal suggests it, or the history passed `maxEvents` (a workflow's own, lower limit). */
export function historyIsLong(maxEvents?: number): boolean {
  const { continueAsNewSuggested, historyLength } = wf.workflowInfo();
  return continueAsNewSuggested || (maxEvents !== undefined && historyLength > maxEvents);
}

/**
 * Continues as new with the same input and the carried state, once no handler is mid-way (so
 * nothing a signal started is lost between the two runs). Never returns.
 */
export async function continueAsNewWith<F extends wf.Workflow>(...args: Parameters<F>): Promise<never> {
  await wf.condition(wf.allHandlersFinished);
  return wf.continueAsNew<F>(...args);
}

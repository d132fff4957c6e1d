import * as wf from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { ENDING_MEMO, opsflowSearchAttributes } from '../../domain/search-attributes';
import { failureMessage, workflowFailure } from './failure';

/**
 * Patch ids of the command changes made after the first release, so that histories recorded before them
 * still replay: planning before the first search-attribute upsert, and the final upsert on a
 * failed or cancelled run.
 */
export const PLAN_BEFORE_SEARCH_ATTRIBUTES = 'opsflow-plan-before-search-attributes';
const FINAL_SEARCH_ATTRIBUTES = 'opsflow-final-search-attributes';
/** Patch id: runs recorded before it ended cancelled without saying what their cleanup left. */
const ENDING_MEMO_PATCH = 'opsflow-ending-memo';

/** How a run that did not return ended. */
export interface Ending {
  kind: 'failed' | 'cancelled';
  /** The failure in words (common/failure.ts). */
  message: string;
}

/**
 * What a workflow does when it ends without returning: set its own state, details and final
 * search attributes. It may return words that go before the failure's own in the run's failure
 * message (e.g. "rollback of checkout-api failed"), used when the failure came from an activity.
 */
export type EndingHandler = (ending: Ending) => string | void;

/**
 * Every way out of a workflow body in one place: a return passes through; a failure or a
 * cancellation first lets the workflow record how it ended (its handler), then fails the run with
 * its cause in words (an activity's "Activity task failed" becomes the activity's own reason);
 * continue-as-new and bugs in workflow code (plain errors, which fail the task) pass through.
 */
export class RunEnding {
  private handler?: EndingHandler;

  onEnd(handler: EndingHandler): void {
    this.handler = handler;
  }

  async run<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (err) {
      if (err instanceof wf.ContinueAsNew) throw err;
      const cancelled = wf.isCancellation(err);
      if (!cancelled && !(err instanceof wf.TemporalFailure)) throw err;
      const context = this.handler?.({ kind: cancelled ? 'cancelled' : 'failed', message: failureMessage(err) });
      throw workflowFailure(err, context || undefined);
    }
  }
}

/**
 * The last search-attribute upsert of a run, so that a closed run says how it ended
 * (`OpsflowPhase='failed'` finds the failed migration). Only the values that differ are sent, and
 * only when this run already carries opsflow attributes: a run that failed before its first upsert
 * (bad input, an unknown target) must not send one, or on a namespace without the attributes its
 * failure would turn into a workflow task that fails forever.
 */
export function finalSearchAttributes(pairs: SearchAttributeUpdatePair[]): void {
  const current = wf.workflowInfo().typedSearchAttributes;
  if (!opsflowSearchAttributes.some((key) => current.get(key) !== undefined)) return;
  const changed = pairs.filter((p) => current.get(p.key) !== p.value);
  if (changed.length === 0) return;
  if (!wf.patched(FINAL_SEARCH_ATTRIBUTES)) return;
  wf.upsertSearchAttributes(changed);
}

/**
 * What a cancelled run did on its way out (what it rolled back, what the system read back), kept
 * in the run's memo: the cancellation itself ends the run with no words, so `opsflow result` and
 * the Web UI read these instead.
 */
export function recordEnding(words: string): void {
  if (wf.patched(ENDING_MEMO_PATCH)) wf.upsertMemo({ [ENDING_MEMO]: words });
}

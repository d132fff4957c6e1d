// Why: what a run shows people (current details in the UI) and what it is found by (search
// attributes) must change together, and a run's last word must reflect its final state; one
// place does both so no workflow updates one and forgets the other.
import * as wf from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { finalSearchAttributes } from './ending';

/**
 * A run's visible progress: `render` builds the current details (markdown) from the run's state;
 * `update` upserts the given search attributes (none: no upsert) and then shows the details;
 * `end` shows the details and sends the final search attributes of a run that did not return.
 */
export class Progress {
  constructor(private readonly render: () => string) {}

  /** The details only: for changes that no search attribute reflects. */
  show(): void {
    wf.setCurrentDetails(this.render());
  }

  update(pairs: SearchAttributeUpdatePair[]): void {
    if (pairs.length > 0) wf.upsertSearchAttributes(pairs);
    this.show();
  }

  /** For `RunEnding.onEnd`: the details, then the final attributes (see common/ending.ts). */
  end(pairs: SearchAttributeUpdatePair[]): void {
    this.show();
    finalSearchAttributes(pairs);
  }
}

/** Activity options with the summary the UI shows for that one call. */
export const withSummary = (options: wf.ActivityOptions, summary: string): wf.ActivityOptions => ({
  ...options,
  summary,
});

// Why: what a run shows people (current details in the UI) and what it is found by (search
// attributes) must change together, and a run's last word must reflect its final state; one
// place does both so no workflow updates one and forgets the other.
import * as wf from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { OpsflowPhase, type OpsflowState } from '../../domain/search-attributes';
import { finalSearchAttributes } from './ending';

/** The state word a paused run is found by (`opsflow list --state paused`), whatever its own state. */
const PAUSED_STATE = 'paused';
/** Patch id: runs recorded before a pause showed in their state attribute never upserted it. */
const PAUSE_IN_STATE_ATTRIBUTE = 'opsflow-pause-in-state-attribute';

/** How a run's pause shows in the search attribute that says its state. */
export interface PauseShown {
  /** OpsflowState or OpsflowPhase: the one the run says its state in. */
  key: typeof OpsflowState;
  /** Paused, and the pause still holds the run (false once it has ended whatever the pause). */
  paused: () => boolean;
  /** The run's state word, for a run that has not said it in this run yet (a continued one). */
  state: () => string;
}

/**
 * A run's visible progress: `render` builds the current details (markdown) from the run's state;
 * `update` upserts the given search attributes (none: no upsert) and then shows the details;
 * `end` shows the details and sends the final search attributes of a run that did not return.
 * With `pause`, the state attribute reads "paused" while the run is paused and its own state again
 * on resume: a state the run enters meanwhile is kept for then.
 */
export class Progress {
  /** The state the run last said in its attribute (the pause aside). */
  private stateNow?: string;
  /** The attribute reads "paused" now. */
  private pauseShown = false;
  /** This run's history takes the pause in the attribute (asked once: the answer is the run's). */
  private pauseInAttribute?: boolean;

  constructor(
    private readonly render: () => string,
    private readonly pause?: PauseShown,
  ) {
    // A run continued as new carries its attributes: a pause shown by the run before still is.
    if (pause && wf.workflowInfo().typedSearchAttributes.get(pause.key) === PAUSED_STATE) this.pauseShown = true;
  }

  /** The details only: for changes that no search attribute reflects. */
  show(): void {
    wf.setCurrentDetails(this.render());
  }

  update(pairs: SearchAttributeUpdatePair[]): void {
    if (pairs.length > 0) wf.upsertSearchAttributes(pairs.map((p) => this.shown(p)));
    this.show();
  }

  /** `update` of the phase alone: the `OpsflowPhase` attribute, then the details. */
  phase(value: string): void {
    this.update([{ key: OpsflowPhase, value }]);
  }

  /** For `RunEnding.onEnd`: the details, then the final attributes (see common/ending.ts). */
  end(pairs: SearchAttributeUpdatePair[]): void {
    this.show();
    finalSearchAttributes(pairs);
  }

  /** After a pause or a resume: the state attribute says so (once it has said a state), then the details. */
  pauseChanged(): void {
    const p = this.pause;
    if (p) {
      const paused = p.paused();
      if (paused && !this.pauseShown && this.stateNow !== undefined && this.takesPause()) {
        wf.upsertSearchAttributes([{ key: p.key, value: PAUSED_STATE }]);
        this.pauseShown = true;
      } else if (!paused && this.pauseShown) {
        wf.upsertSearchAttributes([{ key: p.key, value: this.stateNow ?? p.state() }]);
        this.pauseShown = false;
      }
    }
    this.show();
  }

  /** The pair as sent: the state the run enters while paused is kept, "paused" is shown. */
  private shown(pair: SearchAttributeUpdatePair): SearchAttributeUpdatePair {
    const p = this.pause;
    if (!p || pair.key.name !== p.key.name || typeof pair.value !== 'string') return pair;
    this.stateNow = pair.value;
    const paused = p.paused();
    this.pauseShown = paused && (this.pauseShown || this.takesPause());
    return this.pauseShown ? { key: p.key, value: PAUSED_STATE } : pair;
  }

  private takesPause(): boolean {
    return (this.pauseInAttribute ??= wf.patched(PAUSE_IN_STATE_ATTRIBUTE));
  }
}

/** Activity options with the summary the UI shows for that one call. */
export const withSummary = (options: wf.ActivityOptions, summary: string): wf.ActivityOptions => ({
  ...options,
  summary,
});

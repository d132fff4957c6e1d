// Why: every way the outside reaches a running rollout (status query, operator signals, promote)
// and how its end is recorded, wired in one place from the run's state.
import * as wf from '@temporalio/workflow';
import { signalNames } from '../common/messages';
import { OpsflowState } from '../../domain/search-attributes';
import type { RunEnding } from '../common/ending';
import type { Progress } from '../common/progress';
import type { RolloutRun } from './state';
import { promoteSignal, rolloutMessages, statusQuery } from './messages';

/** Set before the first await, so that signals sent with the start are not lost. */
export function installHandlers(run: RolloutRun, progress: Progress, ending: RunEnding): void {
  // A run cut short by a failure or a cancellation says so in its state, details and attributes.
  ending.onEnd((end) => {
    const cut = run.cutShort(end);
    if (!cut) return;
    progress.end([{ key: OpsflowState, value: run.status.state }]);
    return cut.context;
  });
  wf.setHandler(statusQuery, () => run.status);
  run.controls.install(
    ['approve', 'pause', 'resume', 'abort'],
    (event) => {
      run.onOperator(event);
      // a pause or resume changes what the run waits on: its state attribute and details say it at once
      progress.pauseChanged();
    },
    { status: () => run.status },
  );
  wf.setHandler(promoteSignal, (a) => run.promote(a?.by));
  run.controls.reportUnknownSignals(signalNames(rolloutMessages), (text) => run.decide(text));
}

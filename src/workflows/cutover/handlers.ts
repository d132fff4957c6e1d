// Why: every way the outside reaches a running cutover (status query, operator signals,
// reschedule and skip) and how its end is recorded, wired in one place from the run's state.
import * as wf from '@temporalio/workflow';
import { OpsflowState } from '../../domain/search-attributes';
import type { RunEnding } from '../common/ending';
import { operatorSignalNames } from '../common/operator-controls';
import type { Progress } from '../common/progress';
import type { BatchSignal, CutoverRun, CutoverStatus } from './state';

const statusQuery = wf.defineQuery<CutoverStatus>('status');
/** `{"batch": "managers", "startAt": "+6h"}`: a batch not started yet gets a new start time. */
export const rescheduleSignal = wf.defineSignal<[BatchSignal]>('reschedule');
/** `{"batch": 3}`: a batch not started yet is left out. */
export const skipSignal = wf.defineSignal<[BatchSignal]>('skip');

/** Set before the first await, so signals sent with the start are not lost. */
export function installHandlers(run: CutoverRun, progress: Progress, ending: RunEnding): void {
  ending.onEnd((end) => {
    if (!['completed', 'rolled-back', 'aborted', 'failed'].includes(run.status.state)) {
      run.status.failure ??= end.message;
      run.enter(end.kind === 'cancelled' ? 'aborted' : 'failed');
    }
    progress.end([{ key: OpsflowState, value: run.status.state }]);
  });
  wf.setHandler(statusQuery, () => run.status);
  run.controls.install(
    ['approve', 'pause', 'resume', 'abort'],
    (event) => {
      run.onOperator(event);
      progress.show();
    },
    { status: () => run.status },
  );
  wf.setHandler(rescheduleSignal, (s) => {
    run.decide(run.reschedule(s ?? { batch: '' }, Date.now()));
    progress.show();
  });
  wf.setHandler(skipSignal, (s) => {
    run.decide(run.skip(s ?? { batch: '' }));
    progress.show();
  });
  run.controls.reportUnknownSignals([...operatorSignalNames, rescheduleSignal.name, skipSignal.name], (text) => run.decide(text));
}

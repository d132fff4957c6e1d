// Why: every way the outside reaches a running cutover (status query, operator signals,
// reschedule and skip) and how its end is recorded, wired in one place from the run's state.
import * as wf from '@temporalio/workflow';
import { OpsflowState } from '../../domain/search-attributes';
import type { RunEnding } from '../common/ending';
import { signalNames } from '../common/messages';
import type { Progress } from '../common/progress';
import { reschedule, rescheduleRefusal, skip, skipRefusal } from './reschedule';
import type { CutoverRun } from './state';
import type { BatchSignal } from './status';
import { cutoverMessages, rescheduleSignal, rescheduleUpdate, skipSignal, skipUpdate, statusQuery } from './messages';

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
      progress.pauseChanged();
    },
    { status: () => run.status },
  );
  wf.setHandler(rescheduleSignal, (request) => {
    run.decide(reschedule(run, request ?? { batch: '' }, Date.now()));
    progress.show();
  });
  wf.setHandler(skipSignal, (request) => {
    run.decide(skip(run, request ?? { batch: '' }));
    progress.show();
  });
  // The Update forms: a refusal is thrown by the validator (never written); an accepted one is
  // decided as the signal's is, with the time it was taken, and answered with the status.
  wf.setHandler(
    rescheduleUpdate,
    (request: BatchSignal) => {
      run.decide(reschedule(run, request, Date.now()));
      progress.show();
      return run.status;
    },
    { validator: (request: BatchSignal) => refuse(rescheduleRefusal(run, request ?? { batch: '' }, Date.now())) },
  );
  wf.setHandler(
    skipUpdate,
    (request: BatchSignal) => {
      run.decide(skip(run, request));
      progress.show();
      return run.status;
    },
    { validator: (request: BatchSignal) => refuse(skipRefusal(run, request ?? { batch: '' })) },
  );
  run.controls.reportUnknownSignals(signalNames(cutoverMessages), (text) => run.decide(text));
}

function refuse(why: string | undefined): void {
  if (why) throw new Error(why);
}

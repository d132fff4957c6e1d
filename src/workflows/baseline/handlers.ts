// Why: every handler of the baseline run wired in one place: the `status` query and the
// operator's `abort` (stop sampling now, keep what was measured as a partial baseline).
import * as wf from '@temporalio/workflow';
import { OperatorControls } from '../common/operator-controls';
import type { BaselineRun, BaselineStatus } from './state';

export const statusQuery = wf.defineQuery<BaselineStatus>('status');

/** Installs the handlers; `onAbort` runs once, on the first abort. */
export function installHandlers(run: BaselineRun, onAbort: (reason: string) => void, onChange: () => void): OperatorControls {
  const controls = new OperatorControls();
  wf.setHandler(statusQuery, () => run.status);
  controls.install(['abort'], (event) => {
    run.decide(event.text);
    // Once sampling is over there is nothing to stop: the baseline is (being) made from the whole window.
    if (run.sampling && !run.stopped) onAbort(controls.abortMessage('while sampling')!);
    onChange();
  }, { status: () => run.status });
  controls.reportUnknownSignals(['abort'], (text) => run.decide(text));
  return controls;
}

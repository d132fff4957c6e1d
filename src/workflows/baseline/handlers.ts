// Why: every handler of the baseline run wired in one place: the `status` query and the
// operator's `abort` (stop sampling now, keep what was measured as a partial baseline).
import * as wf from '@temporalio/workflow';
import { OperatorControls } from '../common/operator-controls';
import { signalNames } from '../common/messages';
import type { BaselineRun } from './state';
import { baselineMessages, statusQuery } from './messages';

/** Installs the handlers; `onAbort` runs once, on the first abort. */
export function installHandlers(
  run: BaselineRun,
  onAbort: (reason: string) => void,
  onChange: () => void,
): OperatorControls {
  const controls = new OperatorControls();
  wf.setHandler(statusQuery, () => run.status);
  controls.install(
    ['abort'],
    (event) => {
      run.decide(event.text);
      // Once sampling is over there is nothing to stop: the baseline is (being) made from the whole window.
      if (run.sampling && !run.stopped) onAbort(controls.abortMessage('while sampling')!);
      onChange();
    },
    { status: () => run.status },
  );
  controls.reportUnknownSignals(signalNames(baselineMessages), (text) => run.decide(text));
  return controls;
}

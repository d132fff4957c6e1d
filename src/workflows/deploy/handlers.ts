// Why: every way the outside reaches a running deploy (status query, operator signals) wired in one place.
import * as wf from '@temporalio/workflow';
import { OperatorControls, type OperatorCarry } from '../common/operator-controls';
import { signalNames } from '../common/messages';
import type { DeployRun } from './state';
import { deployMessages, statusQuery } from './messages';

/**
 * Set before the first await, so that signals sent with the start are not lost. `show` follows
 * every action (a pause or resume changes the state attribute: `Progress.pauseChanged`).
 */
export function installHandlers(run: DeployRun, show: () => void, carried?: OperatorCarry): OperatorControls {
  const controls = new OperatorControls(carried);
  wf.setHandler(statusQuery, () => run.status);
  controls.install(
    ['approve', 'pause', 'resume', 'abort'],
    (event) => {
      // An approve that counts towards a rule of several people shows in the status at once.
      if (run.status.approvals) run.status.approvals = controls.approvalProgress();
      run.setPaused(controls.paused, controls.carry().pausedBy);
      run.note(event.text);
      show();
    },
    { status: () => run.status },
  );
  controls.reportUnknownSignals(signalNames(deployMessages), (text) => run.note(text));
  return controls;
}

// Why: everything an operator can ask of or send to a migration, wired in one place from the state.
import * as wf from '@temporalio/workflow';
import { Progress } from '../common/progress';
import { OpsflowPhase } from '../../domain/search-attributes';
import type { MigrationState } from './state';
import { signalNames } from '../common/messages';
import { migrationMessages, statusQuery } from './messages';

/**
 * The `status` query and the bare `pause`/`resume` signals (the common operator controls); each
 * signal refreshes the run's details (and a pause its phase attribute). Returns the run's visible progress.
 */
export function installHandlers(state: MigrationState): Progress {
  const progress = new Progress(() => state.details(wf.workflowInfo().workflowId), {
    key: OpsflowPhase,
    paused: () => state.pauseHolds,
    state: () => state.phase,
  });
  wf.setHandler(statusQuery, () => state.view());
  state.controls.install(['pause', 'resume'], () => progress.pauseChanged(), { status: () => state.view() });
  state.controls.reportUnknownSignals(signalNames(migrationMessages), (text) => state.decide(text));
  return progress;
}

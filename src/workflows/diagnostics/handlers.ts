import * as wf from '@temporalio/workflow';
import type { DiagnosticsState } from './state';
import { statusQuery } from './messages';

/** Every handler of a diagnostics run, wired in one place. */
export function installDiagnosticsHandlers(state: DiagnosticsState): void {
  wf.setHandler(statusQuery, () => state.status);
}

import * as wf from '@temporalio/workflow';
import type { DiagnosticsState, DiagnosticsStatus } from './state';

export const diagnosticsStatusQuery = wf.defineQuery<DiagnosticsStatus>('status');

/** Every handler of a diagnostics run, wired in one place. */
export function installDiagnosticsHandlers(state: DiagnosticsState): void {
  wf.setHandler(diagnosticsStatusQuery, () => state.status);
}

import * as wf from '@temporalio/workflow';
import type { BackupState, BackupStatus } from './state';

export const backupStatusQuery = wf.defineQuery<BackupStatus>('status');

/**
 * Every handler of a backup run, in one place. A backup takes no operator signals: there is
 * nothing to approve, and stopping one is a cancellation (the drill still drops its database).
 */
export function installBackupHandlers(state: BackupState): void {
  wf.setHandler(backupStatusQuery, () => state.status);
}

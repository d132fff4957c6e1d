import * as wf from '@temporalio/workflow';
import type { BackupState } from './state';
import { statusQuery } from './messages';

/**
 * Every handler of a backup run, in one place. A backup takes no operator signals: there is
 * nothing to approve, and stopping one is a cancellation (the drill still drops its database).
 */
export function installBackupHandlers(state: BackupState): void {
  wf.setHandler(statusQuery, () => state.status);
}

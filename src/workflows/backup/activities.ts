// Why: the backup's activities with their timeouts and retries, defined once.
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';

/** Dumps and restores can take hours; the heartbeat is what notices a dead worker in seconds. */
export const heavy: wf.ActivityOptions = {
  startToCloseTimeout: '12h',
  heartbeatTimeout: '20s',
  retry: { maximumAttempts: 3, initialInterval: '10s' },
};
export const light: wf.ActivityOptions = {
  startToCloseTimeout: '2m',
  retry: { maximumAttempts: 3, initialInterval: '2s' },
};
export const acts = wf.proxyActivities<Activities>(light);

// Why: the readiness gate's activities with their timeouts and retries, defined once.
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';

/** Checks only read; a system that cannot be asked is an `error` result, not a retry, so retries are for lost workers. */
export const checkOptions: wf.ActivityOptions = {
  startToCloseTimeout: '2m',
  // The checks heartbeat (activities/heartbeat.ts): a worker that dies mid-check is noticed in
  // seconds, not at the start-to-close timeout. Only the timeout changes, not the commands: no patch.
  heartbeatTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '1s', maximumInterval: '10s' },
};
export const acts = wf.proxyActivities<Activities>(checkOptions);

// Why: the health check's activities with their timeouts and retries, defined once.
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { withSummary } from '../common/progress';

/** Checks read only, so they retry freely, but briefly: a scheduled run every minute must not pile up. */
const checkOptions: wf.ActivityOptions = {
  startToCloseTimeout: '30s',
  // the checks heartbeat (activities/heartbeat.ts): a worker that dies mid-check is noticed in seconds
  heartbeatTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2 },
};
export const acts = wf.proxyActivities<Activities>(checkOptions);
export const opts = (summary: string): wf.ActivityOptions => withSummary(checkOptions, summary);

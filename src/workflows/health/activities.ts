// Why: the health check's activities with their timeouts and retries, defined once.
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { withSummary } from '../common/progress';
import { notifyOptions } from '../common/notify-options';

/** Checks read only, so they retry freely, but briefly: a scheduled run every minute must not pile up. */
const checkOptions: wf.ActivityOptions = {
  startToCloseTimeout: '30s',
  // the checks heartbeat (activities/heartbeat.ts): a worker that dies mid-check is noticed in seconds
  heartbeatTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2 },
};
export const acts = wf.proxyActivities<Activities>(checkOptions);
export const opts = (summary: string): wf.ActivityOptions => withSummary(checkOptions, summary);
/**
 * Messages go out under the shared notify options alone: the notifier does not heartbeat, so the
 * heartbeat timeout above would cut a slow mail server's send short and send the message again.
 */
export const notifying = wf.proxyActivities<Activities>(notifyOptions);

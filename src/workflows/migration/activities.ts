// Why: the migration's activities with their timeouts and retries, defined once for every step.
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { withSummary } from '../common/progress';

/** Bookkeeping reads and writes: short, retried with backoff. */
const stepOptions: wf.ActivityOptions = {
  startToCloseTimeout: '10m',
  heartbeatTimeout: '30s',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' },
};

/**
 * One batch of chunks: it heartbeats, so a dead worker's chunk is retried elsewhere within 15 s; a
 * cancellation waits until the chunk has rolled back or committed, so the log is written last.
 */
export const chunkOptions: wf.ActivityOptions = {
  startToCloseTimeout: '2h',
  heartbeatTimeout: '15s',
  cancellationType: wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 20, initialInterval: '1s', maximumInterval: '30s' },
};

export const acts = wf.proxyActivities<Activities>(stepOptions);

/** A bookkeeping step's options with the summary the Web UI shows for it. */
export const step = (summary: string, options: wf.ActivityOptions = {}): wf.ActivityOptions =>
  withSummary({ ...stepOptions, ...options }, summary);

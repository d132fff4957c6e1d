// Why: the baseline's activities with their timeouts and retries, defined once.
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { BaselineWindow } from './state';

/** Storing and summarising read and upsert: retried freely. */
export const storeOptions: wf.ActivityOptions = {
  startToCloseTimeout: '2m',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' },
};
export const acts = wf.proxyActivities<Activities>(storeOptions);

/**
 * One chunk samples for its own length: the timeout leaves two intervals and a minute of slack; the
 * heartbeat (every second) tells a dead worker within 10 s, and the retry resumes after the stored
 * ticks; a cancellation waits for the activity, so every tick it stored is in the summary.
 */
export function chunkOptions(window: BaselineWindow, ticks: number, summary: string): wf.ActivityOptions {
  return {
    startToCloseTimeout: (ticks + 2) * window.intervalMs + 60_000,
    heartbeatTimeout: '10s',
    retry: { maximumAttempts: 20, initialInterval: '1s', maximumInterval: '10s' },
    cancellationType: wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    summary,
  };
}

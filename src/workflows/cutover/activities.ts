// Why: how hard each kind of cutover call is retried is a decision of its own: a restore must
// happen; a chunked move resumes from its heartbeat; a sample must not wait long.
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';

export const planOptions: wf.ActivityOptions = {
  startToCloseTimeout: '60s',
  retry: { maximumAttempts: 5, initialInterval: '1s', maximumInterval: '10s' },
};
/** Listing and moving millions of users: long, heartbeating (a dead worker is noticed in 20 s), resumed from the cursor. */
export const bulkOptions: wf.ActivityOptions = {
  startToCloseTimeout: '2h',
  heartbeatTimeout: '20s',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' },
};
/** A restore must happen: retried for about 15 minutes of failures; what no retry fixes fails at once. */
export const restoreOptions: wf.ActivityOptions = {
  startToCloseTimeout: '2h',
  heartbeatTimeout: '20s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 36 },
};
export const sampleOptions: wf.ActivityOptions = {
  startToCloseTimeout: '2m',
  heartbeatTimeout: '10s',
  retry: { maximumAttempts: 2, initialInterval: '1s' },
};
export const acts = wf.proxyActivities<Activities>(planOptions);

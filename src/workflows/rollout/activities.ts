// Why: how hard each kind of rollout call is retried is a decision of its own (a rollback must
// happen, a sample must not wait long); kept apart from the flow that uses them.
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';

/** Planning and LB reads: a few quick tries; what cannot be fixed by a retry is non-retryable. */
export const lbOptions: wf.ActivityOptions = {
  startToCloseTimeout: '60s',
  retry: { maximumAttempts: 5, initialInterval: '1s', maximumInterval: '10s' },
};
/**
 * A rollback must happen: it retries what a retry can fix (LB unreachable, 5xx, timeouts, a
 * read-back not right yet) for about 15 minutes (36 attempts, at most 30 s apart). What no retry
 * fixes (a refused token, an unknown server) fails at once; either way the rollout says so loudly.
 */
export const rollbackOptions: wf.ActivityOptions = {
  startToCloseTimeout: '60s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 36 },
};
/** A sample that cannot be taken is an inconclusive sample, not a reason to wait long. */
export const sampleOptions: wf.ActivityOptions = {
  startToCloseTimeout: '2m',
  heartbeatTimeout: '10s',
  retry: { maximumAttempts: 2, initialInterval: '1s' },
};
export const acts = wf.proxyActivities<Activities>(lbOptions);

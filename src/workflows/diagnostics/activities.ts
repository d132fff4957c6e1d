// Why: the diagnostics' activities with their timeouts and retries, defined once.
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { withSummary } from '../common/progress';

/** Diagnostics only read, so they retry, briefly: someone is waiting for the report. */
const options: wf.ActivityOptions = {
  startToCloseTimeout: '2m',
  heartbeatTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '2s' },
};
export const acts = wf.proxyActivities<Activities>(options);
export const summaryOf = (summary: string) => withSummary(options, summary);

// Why: the daily report's activities with their timeouts and retries, defined once.
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { withSummary } from '../common/progress';

/** Gathering only reads; a part that cannot be gathered says so in the report, so retries are few. */
const gatherOptions: wf.ActivityOptions = {
  startToCloseTimeout: '1m',
  heartbeatTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '2s' },
};
export const acts = wf.proxyActivities<Activities>(gatherOptions);
export const gatherAs = (summary: string) => withSummary(gatherOptions, summary);

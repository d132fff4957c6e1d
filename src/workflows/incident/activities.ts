// Why: the incident's activities with their timeouts and retries, defined once for every step.
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';

/** Reads (the plan, triage, changes, remediation checks): quick, a few tries. */
export const readOptions: wf.ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 5, initialInterval: '1s' },
};
/** The record must land eventually, however long PostgreSQL is away: retried without limit. */
export const storeOptions: wf.ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
};
export const acts = wf.proxyActivities<Activities>(readOptions);

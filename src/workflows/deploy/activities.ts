// Why: the deploy's activities with their timeouts and retries, defined once for every step; each
// step's proxy carries the summary the Web UI shows for it.
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { withSummary } from '../common/progress';

/** Reading the config's fleet: quick, a few tries. */
export const planning = wf.proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 3 } });

export const quick: wf.ActivityOptions = {
  startToCloseTimeout: '1m',
  heartbeatTimeout: '10s',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '15s' },
};
export const long: wf.ActivityOptions = {
  startToCloseTimeout: '30m',
  heartbeatTimeout: '10s',
  retry: { maximumAttempts: 5, initialInterval: '2s', maximumInterval: '30s' },
};
export const step = (options: wf.ActivityOptions, summary: string) =>
  wf.proxyActivities<Activities>(withSummary(options, summary));

/** A health check lasts as long as its attempts and intervals, plus slack. */
export function healthOptions(health: { attempts: number; interval: number }): wf.ActivityOptions {
  return {
    startToCloseTimeout: health.attempts * (health.interval + 10_000) + 60_000,
    heartbeatTimeout: '10s',
    retry: { maximumAttempts: 3 },
  };
}

export const pruneStep = (host: string) => step(quick, `prune old releases on ${host}`);
export const resolveStep = (ref: string) => step({ ...long, startToCloseTimeout: '10m' }, `resolve ${ref} to a commit`);
export const migrateStep = (host: string) => step(long, `run migrations (once per deploy) on ${host}`);
export const targetStep = (host: string) => step(quick, `find the rollback target on ${host}`);

import type * as wf from '@temporalio/workflow';

/**
 * How every workflow sends a notification: many tries, because each message carries an
 * idempotency key that makes a repeat harmless, and a page that is never sent is worse than a late one.
 */
export const notifyOptions: wf.ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' },
};

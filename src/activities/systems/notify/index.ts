import { ApplicationFailure, log } from '@temporalio/activity';
import type { OpsflowConfig } from '../../../config/schema';
import type { Notification } from '../../../domain/notification';
import type { NotifierConfig } from '../../../config/sections/notifiers';
import { SecretError, scrubSecrets } from '../../../config/secrets';
import { sendWebhook } from './webhook';
import { sendSlack } from './slack';
import { sendPagerDuty } from './pagerduty';
import { sendEmail } from './email';
import { sendSms } from './sms';

export interface NotifyResult {
  notifier: string;
  status: number;
}

/**
 * `notify` sends one message through one configured notifier. Idempotent through the message's
 * idempotency key: a retry after a lost answer carries the same key, and receivers that honour
 * it (webhooks, PagerDuty's dedup_key) keep one message.
 */
export function notifyActivities(config: OpsflowConfig) {
  return {
    async notify(n: Notification): Promise<NotifyResult> {
      const cfg = config.notifiers[n.notifier];
      if (!cfg)
        throw ApplicationFailure.nonRetryable(
          `unknown notifier "${n.notifier}" (not in config.notifiers)`,
          'UnknownNotifier',
        );
      let res: { status: number };
      try {
        // Every channel's body is built from the notification, so scrubbing it here covers them all
        // (text composed elsewhere, e.g. an alert's annotations, may carry an echoed secret too).
        res = await send(scrubSecrets(n), cfg);
      } catch (err) {
        // A missing secret is the config's fault: no retry can fix it.
        if (err instanceof SecretError) throw ApplicationFailure.nonRetryable(err.message, 'MissingSecret');
        throw err;
      }
      log.info('notification sent', { notifier: n.notifier, key: n.idempotencyKey, status: res.status });
      return { notifier: n.notifier, status: res.status };
    },
  };
}

/** The one switch over notifier kinds: adding a channel is adding a case and an adapter. */
function send(n: Notification, cfg: NotifierConfig): Promise<{ status: number }> {
  switch (cfg.type) {
    case 'webhook':
      return sendWebhook(n.notifier, cfg, n);
    case 'slack':
      return sendSlack(n.notifier, cfg, n);
    case 'pagerduty':
      return sendPagerDuty(n.notifier, cfg, n);
    case 'email':
      return sendEmail(n.notifier, cfg, n);
    case 'sms':
      return sendSms(n.notifier, cfg, n);
  }
}

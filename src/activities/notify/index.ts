import { ApplicationFailure, log } from '@temporalio/activity';
import type { OpsflowConfig } from '../../config/schema';
import type { Notification } from '../../domain/notification';
import { sendWebhook } from './webhook';
import { sendSlack } from './slack';

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
      if (!cfg) throw ApplicationFailure.nonRetryable(`unknown notifier "${n.notifier}" (not in config.notifiers)`, 'UnknownNotifier');
      let res: { status: number };
      switch (cfg.type) {
        case 'webhook':
          res = await sendWebhook(n.notifier, cfg, n);
          break;
        case 'slack':
          res = await sendSlack(n.notifier, cfg, n);
          break;
      }
      log.info('notification sent', { notifier: n.notifier, key: n.idempotencyKey, status: res.status });
      return { notifier: n.notifier, status: res.status };
    },
  };
}

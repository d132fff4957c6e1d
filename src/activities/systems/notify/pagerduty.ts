import type { Notification } from '../../../domain/notification';
import type { NotifierConfig } from '../../../config/sections/notifiers';
import { resolveSecret } from '../../../config/secrets';
import { postJson } from './http-send';

type PagerDutyConfig = Extract<NotifierConfig, { type: 'pagerduty' }>;

const pdSeverity: Record<Notification['severity'], 'info' | 'warning' | 'error' | 'critical'> = {
  info: 'info',
  warning: 'warning',
  critical: 'error',
  emergency: 'critical',
};

/**
 * PagerDuty Events API v2. Idempotent by `dedup_key`: PagerDuty folds every trigger with the same
 * key into one alert, and acknowledge/resolve address it by that key, so a retried send changes
 * nothing. 202 is success; 429 and 5xx are retried by Temporal with backoff (postJson).
 */
export async function sendPagerDuty(name: string, cfg: PagerDutyConfig, n: Notification) {
  const routingKey = resolveSecret(cfg.routingKey, `notifiers.${name}.routingKey`);
  const action = n.action ?? 'trigger';
  const body: Record<string, unknown> = {
    routing_key: routingKey,
    event_action: action,
    dedup_key: n.dedupKey ?? n.idempotencyKey,
  };
  if (action === 'trigger') {
    body.payload = {
      summary: `${n.title}`.slice(0, 1024),
      severity: pdSeverity[n.severity],
      source: cfg.source,
      custom_details: { text: n.text, ...(n.details ?? {}) },
    };
    body.client = 'opsflow';
  }
  return postJson(`pagerduty ${name}`, cfg.url, body, {}, cfg.timeoutMs, [200, 202]);
}

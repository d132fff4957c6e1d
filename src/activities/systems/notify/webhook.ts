import type { Notification } from '../../../domain/notification';
import type { NotifierConfig } from '../../../config/sections/notifiers';
import { resolveOptionalSecret } from '../../../config/secrets';
import { postJson } from './http-send';

type WebhookConfig = Extract<NotifierConfig, { type: 'webhook' }>;

/** A generic JSON webhook: the key goes in the `Idempotency-Key` header and in the body. */
export async function sendWebhook(name: string, cfg: WebhookConfig, n: Notification) {
  const token = resolveOptionalSecret(cfg.token, `notifiers.${name}.token`);
  const headers: Record<string, string> = { 'idempotency-key': n.idempotencyKey };
  if (token) headers.authorization = `Bearer ${token}`;
  const body = {
    source: 'opsflow',
    idempotencyKey: n.idempotencyKey,
    severity: n.severity,
    title: n.title,
    text: n.text,
    details: n.details ?? {},
  };
  return postJson(`webhook ${name}`, cfg.url, body, headers, cfg.timeoutMs);
}

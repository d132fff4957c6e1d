import type { Notification } from '../../../domain/notification';
import type { NotifierConfig } from '../../../config/sections/notifiers';
import { resolveSecret } from '../../../config/secrets';
import { postJson } from './http-send';

type SlackConfig = Extract<NotifierConfig, { type: 'slack' }>;

const icon: Record<Notification['severity'], string> = {
  info: ':information_source:',
  warning: ':warning:',
  critical: ':rotating_light:',
  emergency: ':fire:',
};

/**
 * A Slack incoming webhook. Slack keeps no idempotency key, so delivery is at-least-once: the key
 * is still sent (header and footer) so that a duplicate can be recognised by a person.
 */
export async function sendSlack(name: string, cfg: SlackConfig, n: Notification) {
  const url = resolveSecret(cfg.webhookUrl, `notifiers.${name}.webhookUrl`);
  const body = {
    ...(cfg.channel ? { channel: cfg.channel } : {}),
    text: `${icon[n.severity]} *${n.title}*\n${n.text}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${icon[n.severity]} *${n.title}*\n${n.text}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `opsflow · ${n.idempotencyKey}` }] },
    ],
  };
  return postJson(`slack ${name}`, url, body, { 'idempotency-key': n.idempotencyKey }, cfg.timeoutMs);
}

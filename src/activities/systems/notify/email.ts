import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import { ApplicationFailure } from '@temporalio/activity';
import type { Notification } from '../../../domain/notification';
import type { NotifierConfig } from '../../../config/sections/notifiers';
import { resolveOptionalSecret } from '../../../config/secrets';

type EmailConfig = Extract<NotifierConfig, { type: 'email' }>;

const prefix: Record<Notification['severity'], string> = {
  info: '[info]',
  warning: '[warning]',
  critical: '[CRITICAL]',
  emergency: '[URGENT]',
};

/** The Message-ID of a notification: the same key gives the same id, so mail systems fold repeats. */
export function messageId(key: string): string {
  return `<${createHash('sha256').update(key).digest('hex').slice(0, 32)}@opsflow>`;
}

/**
 * Email over SMTP with nodemailer. SMTP has no idempotency of its own: the message carries a
 * Message-ID derived from the idempotency key (and an Idempotency-Key header), so a retried send is
 * recognisably the same message and mail stores and clients that de-duplicate by Message-ID keep one.
 * A 4xx SMTP reply or a network error is retried; 5xx (rejected recipient, bad auth) is not.
 */
export async function sendEmail(name: string, cfg: EmailConfig, n: Notification): Promise<{ status: number }> {
  const password = resolveOptionalSecret(cfg.password, `notifiers.${name}.password`);
  const transport = nodemailer.createTransport({
    host: cfg.host,
    port: cfg.port,
    secure: cfg.secure,
    requireTLS: cfg.requireTls,
    auth: cfg.user ? { user: cfg.user, pass: password ?? '' } : undefined,
    connectionTimeout: cfg.timeoutMs,
    greetingTimeout: cfg.timeoutMs,
    socketTimeout: cfg.timeoutMs,
  });
  try {
    await transport.sendMail({
      from: cfg.from,
      to: cfg.to,
      subject: `${prefix[n.severity]} ${n.title}`,
      text: `${n.text}\n\n-- \nopsflow · ${n.idempotencyKey}\n`,
      ...(n.html ? { html: n.html } : {}),
      messageId: messageId(n.idempotencyKey),
      headers: { 'Idempotency-Key': n.idempotencyKey, 'X-Opsflow-Severity': n.severity },
      priority: n.severity === 'emergency' || n.severity === 'critical' ? 'high' : 'normal',
    });
    return { status: 250 };
  } catch (err) {
    const e = err as Error & { responseCode?: number };
    const message = `email ${name} via ${cfg.host}:${cfg.port}: ${e.message}`;
    if (e.responseCode !== undefined && e.responseCode >= 500)
      throw ApplicationFailure.nonRetryable(message, 'NotifierRejected');
    throw ApplicationFailure.retryable(message, 'NotifierUnavailable');
  } finally {
    transport.close();
  }
}

import type { Notification } from '../../../domain/notification';
import type { NotifierConfig } from '../../../config/sections/notifiers';
import { resolveSecret } from '../../../config/secrets';
import { post } from './http-send';

type SmsConfig = Extract<NotifierConfig, { type: 'sms' }>;

/** SMS segments are short: the title and the first words of the text. */
function smsBody(n: Notification): string {
  const text = `${n.title}${n.text ? ` — ${n.text}` : ''}`.replace(/\s+/g, ' ');
  return text.length > 320 ? `${text.slice(0, 317)}...` : text;
}

/**
 * A Twilio-style Messages API: one form-encoded POST per number, basic auth with the account SID
 * and token. Idempotent by key: each message carries `<key>/<number>` as `Idempotency-Key` and as
 * Twilio's `I-Twilio-Idempotency-Token`, so a retry after a lost answer is the same message.
 * 429 and 5xx are retried; other 4xx (bad number, bad credentials) are not.
 */
export async function sendSms(name: string, cfg: SmsConfig, n: Notification): Promise<{ status: number }> {
  const token = resolveSecret(cfg.authToken, `notifiers.${name}.authToken`);
  const url = `${cfg.baseUrl.replace(/\/$/, '')}/2010-04-01/Accounts/${encodeURIComponent(cfg.accountSid)}/Messages.json`;
  const auth = Buffer.from(`${cfg.accountSid}:${token}`).toString('base64');
  let last = 0;
  for (const to of cfg.to) {
    const key = `${n.idempotencyKey}/${to}`;
    const res = await post(
      `sms ${name}`,
      url,
      new URLSearchParams({ To: to, From: cfg.from, Body: smsBody(n) }).toString(),
      {
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${auth}`,
          'idempotency-key': key,
          'i-twilio-idempotency-token': key,
        },
        timeoutMs: cfg.timeoutMs,
        about: `for ${to}`,
      },
    );
    last = res.status;
  }
  return { status: last };
}

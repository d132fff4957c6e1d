import { z } from 'zod';
import { flag, httpUrl, nonEmpty, positiveInt, typed } from '../../domain/fields';
import { secretRef } from '../secrets';
import { tcpPort } from '../../domain/names';

/**
 * Where messages go. Webhook URLs of Slack carry their own secret, so they come from env or a file.
 * Each kind is one member of the union; adding a channel is adding a member and an adapter.
 */
const webhookNotifier = typed('webhook', {
  url: httpUrl,
  token: secretRef.optional(),
  timeoutMs: positiveInt.default(10_000),
});

const slackNotifier = typed('slack', {
  webhookUrl: secretRef,
  channel: z.string().optional(),
  timeoutMs: positiveInt.default(10_000),
});

/** PagerDuty Events API v2: the routing (integration) key is a secret. */
const pagerdutyNotifier = typed('pagerduty', {
  routingKey: secretRef,
  url: httpUrl.default('https://events.pagerduty.com/v2/enqueue'),
  /** payload.source: the host or service the event is about. */
  source: nonEmpty.default('opsflow'),
  timeoutMs: positiveInt.default(10_000),
});

/** Email over SMTP (nodemailer). The password comes from env or a file. */
const emailNotifier = typed('email', {
  host: nonEmpty,
  port: tcpPort.default(587),
  /** true: TLS from the start (465); false: STARTTLS when the server offers it. */
  secure: flag,
  requireTls: flag,
  user: nonEmpty.optional(),
  password: secretRef.optional(),
  from: z.string().min(3),
  to: z.array(z.string().min(3)).min(1),
  timeoutMs: positiveInt.default(15_000),
});

/** SMS through a Twilio-style API: POST {baseUrl}/2010-04-01/Accounts/{accountSid}/Messages.json. */
const smsNotifier = typed('sms', {
  baseUrl: httpUrl.default('https://api.twilio.com'),
  accountSid: z.string().regex(/^[A-Za-z0-9]{1,64}$/, 'an account SID (letters and digits)'),
  authToken: secretRef,
  from: z.string().min(3),
  to: z.array(z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 phone number such as +4915112345678')).min(1),
  timeoutMs: positiveInt.default(10_000),
});

export const notifierConfig = z.discriminatedUnion('type', [
  webhookNotifier,
  slackNotifier,
  pagerdutyNotifier,
  emailNotifier,
  smsNotifier,
]);
export type NotifierConfig = z.infer<typeof notifierConfig>;

import { z } from 'zod';
import { secretRef } from '../secrets';

/**
 * Where messages go. Webhook URLs of Slack carry their own secret, so they come from env or a file.
 * Each kind is one member of the union; adding a channel is adding a member and an adapter.
 */
const webhookNotifier = z
  .object({
    type: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/ }),
    token: secretRef.optional(),
    timeoutMs: z.number().int().positive().default(10_000),
  })
  .strict();

const slackNotifier = z
  .object({
    type: z.literal('slack'),
    webhookUrl: secretRef,
    channel: z.string().optional(),
    timeoutMs: z.number().int().positive().default(10_000),
  })
  .strict();

/** PagerDuty Events API v2: the routing (integration) key is a secret. */
const pagerdutyNotifier = z
  .object({
    type: z.literal('pagerduty'),
    routingKey: secretRef,
    url: z.url({ protocol: /^https?$/ }).default('https://events.pagerduty.com/v2/enqueue'),
    /** payload.source: the host or service the event is about. */
    source: z.string().min(1).default('opsflow'),
    timeoutMs: z.number().int().positive().default(10_000),
  })
  .strict();

/** Email over SMTP (nodemailer). The password comes from env or a file. */
const emailNotifier = z
  .object({
    type: z.literal('email'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(587),
    /** true: TLS from the start (465); false: STARTTLS when the server offers it. */
    secure: z.boolean().default(false),
    requireTls: z.boolean().default(false),
    user: z.string().min(1).optional(),
    password: secretRef.optional(),
    from: z.string().min(3),
    to: z.array(z.string().min(3)).min(1),
    timeoutMs: z.number().int().positive().default(15_000),
  })
  .strict();

/** SMS through a Twilio-style API: POST {baseUrl}/2010-04-01/Accounts/{accountSid}/Messages.json. */
const smsNotifier = z
  .object({
    type: z.literal('sms'),
    baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.twilio.com'),
    accountSid: z.string().regex(/^[A-Za-z0-9]{1,64}$/, 'an account SID (letters and digits)'),
    authToken: secretRef,
    from: z.string().min(3),
    to: z.array(z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 phone number such as +4915112345678')).min(1),
    timeoutMs: z.number().int().positive().default(10_000),
  })
  .strict();

export const notifierConfig = z.discriminatedUnion('type', [
  webhookNotifier,
  slackNotifier,
  pagerdutyNotifier,
  emailNotifier,
  smsNotifier,
]);
export type NotifierConfig = z.infer<typeof notifierConfig>;

import { z } from 'zod';
import { secretRef } from '../secrets';

/**
 * Where messages go. Webhook URLs of Slack carry their own secret, so they come from env or a file.
 * Each kind is one member of the union; adding a channel is adding a member and an adapter.
 */
export const webhookNotifier = z
  .object({
    type: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/ }),
    token: secretRef.optional(),
    timeoutMs: z.number().int().positive().default(10_000),
  })
  .strict();

export const slackNotifier = z
  .object({
    type: z.literal('slack'),
    webhookUrl: secretRef,
    channel: z.string().optional(),
    timeoutMs: z.number().int().positive().default(10_000),
  })
  .strict();

export const notifierConfig = z.discriminatedUnion('type', [webhookNotifier, slackNotifier]);
export type NotifierConfig = z.infer<typeof notifierConfig>;

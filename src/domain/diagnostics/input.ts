import { z } from 'zod';
import { targetName } from '../names';

/** Input of `diagnosticsWorkflow` (runbooks §9): what to look at; at least one of the two. */
export const diagnosticsInput = z
  .object({
    /** A PostgreSQL target of the config (`postgres.<name>`). */
    postgres: targetName.optional(),
    /** The worker's host: uptime, load, memory, disks, top processes. */
    host: z.boolean().default(true),
  })
  .strict()
  .refine((i) => i.host || i.postgres !== undefined, {
    message: 'nothing to diagnose: name a postgres target or leave host on',
    path: ['postgres'],
  });
export type DiagnosticsInput = z.input<typeof diagnosticsInput>;
export type DiagnosticsPlan = z.output<typeof diagnosticsInput>;

import { z } from 'zod';
import { flag, nonEmpty, texts } from '../../domain/fields';
import { targetName } from '../../domain/names';
import { duration } from '../../domain/duration';

/** A Temporal Schedule that `opsflow schedules apply` keeps in step with the config. */
export const scheduleConfig = z
  .object({
    workflow: nonEmpty,
    /** An interval such as "1m", "15m", "1h", "1d" (the workflows' one duration format), in ms. */
    every: duration.optional(),
    /** Cron expressions, e.g. "50 23 * * *" for the daily report (runbooks §4). */
    cron: texts.optional(),
    timezone: z.string().optional(),
    input: z.unknown().optional(),
    overlap: z
      .enum(['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all'])
      .default('skip'),
    paused: flag,
    note: z.string().optional(),
  })
  .strict()
  .refine((s) => (s.every === undefined) !== (s.cron === undefined), { message: 'give exactly one of every or cron' });
export type ScheduleConfig = z.infer<typeof scheduleConfig>;

export const schedulesConfig = z.record(targetName, scheduleConfig);

/** Applied when the config names no schedule: the health check every minute (issue: foundation). */
export const defaultSchedules: Record<string, ScheduleConfig> = {
  'health-check': { workflow: 'healthCheckWorkflow', every: 60_000, overlap: 'skip', paused: false, input: {} },
};

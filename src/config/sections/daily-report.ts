import { z } from 'zod';
import { nonEmpty, positiveInt, targetNames, texts, unitNames } from '../../domain/fields';

import { nameChecks, type Issue } from '../references';
import { postgresStoreConfig } from './postgres-store';

/**
 * The 23:50 daily report (runbooks §4, 000 §2.1): what it gathers and who gets it. A list left out
 * means everything the config names (every postgres and redis target, every backup set, the
 * systemd units of `systemd.units`).
 */
export const dailyReportConfig = z
  .object({
    /** The report's day is this zone's calendar day (the schedule's own zone should match). */
    timezone: nonEmpty.default('UTC'),
    units: unitNames.optional(),
    logs: z
      .object({
        files: z.array(z.string().regex(/^\//, 'an absolute path (a log file)')).default([]),
        /** Case-insensitive regular expressions a line must match to count as an error. */
        patterns: texts.default(['error', 'fatal', 'panic', 'critical', 'exception']),
        /** The last N matching lines per file. */
        lines: positiveInt.max(500).default(20),
        /** The day's journal entries at `priority` or worse, through journalctl (with systemd.sudo as systemctl is). */
        journal: z
          .object({
            command: nonEmpty.default('journalctl'),
            priority: z.enum(['emerg', 'alert', 'crit', 'err', 'warning']).default('err'),
            /** Only these units; empty: the whole journal. */
            units: unitNames.default([]),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({ files: [], patterns: ['error', 'fatal', 'panic', 'critical', 'exception'], lines: 20 }),
    postgres: targetNames.optional(),
    redis: targetNames.optional(),
    backups: targetNames.optional(),
    /** Notifiers that get the whole report (email: with its HTML part). */
    email: targetNames.default([]),
    /** Notifiers that get the short summary (Slack, webhook). */
    summary: targetNames.default([]),
    /** Where the last `keep` reports are kept (`opsflow report show [date]`). */
    store: postgresStoreConfig.extend({ keep: positiveInt.default(30) }).optional(),
  })
  .strict();
export type DailyReportConfig = z.infer<typeof dailyReportConfig>;

export function checkDailyReportReferences(
  r: DailyReportConfig,
  known: {
    postgres: Record<string, unknown>;
    redis: Record<string, unknown>;
    backups: Record<string, unknown>;
    notifiers: Record<string, unknown>;
  },
  issue: Issue,
): void {
  const { one, each } = nameChecks(issue);
  each(['dailyReport', 'postgres'], r.postgres, known.postgres, 'postgres target');
  each(['dailyReport', 'redis'], r.redis, known.redis, 'redis target');
  each(['dailyReport', 'backups'], r.backups, known.backups, 'backup set');
  each(['dailyReport', 'email'], r.email, known.notifiers, 'notifier');
  each(['dailyReport', 'summary'], r.summary, known.notifiers, 'notifier');
  one(['dailyReport', 'store', 'postgres'], r.store?.postgres, known.postgres, 'postgres target');
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: r.timezone });
  } catch {
    issue(['dailyReport', 'timezone'], `unknown time zone "${r.timezone}"`);
  }
}

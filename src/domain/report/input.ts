import { z } from 'zod';

/** Input of `dailyReportWorkflow`: the day to report (default: today in the report's time zone). */
export const dailyReportInput = z
  .object({
    date: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD')
      .optional(),
  })
  .strict();
export type DailyReportInput = z.input<typeof dailyReportInput>;

/** What one run gathers, resolved against the config by the plan activity. */
export interface DailyReportPlan {
  date: string;
  timezone: string;
  /** The day's bounds as instants (for the runs section's visibility query). */
  from: string;
  to: string;
  units: string[];
  logs: {
    files: string[];
    patterns: string[];
    lines: number;
    journal?: { command: string; priority: string; units: string[] };
  };
  postgres: string[];
  redis: string[];
  backups: string[];
  email: string[];
  summary: string[];
  store: boolean;
}

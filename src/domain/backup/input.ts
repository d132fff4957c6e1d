import { z } from 'zod';
import { targetName } from '../names';

/** Input of `backupWorkflow`: which configured set, and whether to prove it by a restore drill. */
export const backupInput = z
  .object({
    /** A backup set of the config (`backups.<name>`). */
    set: targetName,
    /** Restore the dumps into a scratch database and compare every table (default on). */
    drill: z.boolean().default(true),
  })
  .strict();
export type BackupInput = z.input<typeof backupInput>;
export type BackupPlanInput = z.output<typeof backupInput>;

/** What the workflow needs of a set to plan its run (the config stays with the worker). */
export interface BackupSetPlan {
  set: string;
  /** `<destination>/<copy>`. */
  directory: string;
  databases: string[];
  format: 'custom' | 'sql.gz';
  appTree: boolean;
  configFiles: boolean;
  notify: string[];
  retentionDays: number;
  minVerifiedCopies: number;
}

import { z } from 'zod';
import { count, positiveInt, targetNames, texts } from '../../domain/fields';
import { nameChecks, type Issue } from '../references';

const absolutePath = (what: string) => z.string().regex(/^\//, `an absolute path (${what})`);

/**
 * One backup set (runbooks §8): what is backed up, where to, and how long it is kept. Retention never
 * goes below `minVerifiedCopies` copies whose restore drill passed, whatever their age.
 */
export const backupSetConfig = z
  .object({
    /** PostgreSQL targets (`postgres.<name>`) dumped one by one. */
    databases: targetNames.default([]),
    /** `custom`: pg_dump -Fc (compressed, what the drill restores with pg_restore); `sql.gz`: the runbook's plain SQL, gzipped. */
    format: z.enum(['custom', 'sql.gz']).default('custom'),
    /** The application tree, tarred without what can be rebuilt. */
    appTree: z
      .object({
        path: absolutePath('the app tree'),
        exclude: texts.default(['node_modules', '.cache', '__pycache__', '*.pyc', 'tmp', '*.log']),
      })
      .strict()
      .optional(),
    /** Config files (absolute paths) tarred together. */
    configFiles: z.array(absolutePath('a config file')).default([]),
    /** Where every run writes its own folder `<destination>/<YYYYMMDDTHHMMSSZ>/`. */
    destination: absolutePath('the backup destination'),
    retentionDays: positiveInt.default(30),
    /** Verified copies kept whatever their age: retention never deletes the last good backup. */
    minVerifiedCopies: count.default(2),
    /** The health check's "latest verified backup age": warning and critical past these hours. */
    verifiedAgeHours: z
      .object({ warning: z.number().positive().default(26), critical: z.number().positive().default(50) })
      .strict()
      .refine((l) => l.warning <= l.critical, { message: 'warning must not be above critical', path: ['warning'] })
      .default({ warning: 26, critical: 50 }),
    /** Notifiers told of every failure and sent the short success report. */
    notify: targetNames.default([]),
  })
  .strict()
  .refine((s) => s.databases.length > 0 || s.appTree !== undefined || s.configFiles.length > 0, {
    message: 'a backup set with nothing to back up: give databases, appTree or configFiles',
    path: ['databases'],
  });
export type BackupSetConfig = z.infer<typeof backupSetConfig>;

/** The names a backup set uses that the config must define. */
export function checkBackupReferences(
  sets: Record<string, BackupSetConfig>,
  known: { postgres: Record<string, unknown>; notifiers: Record<string, unknown> },
  issue: Issue,
): void {
  const { each } = nameChecks(issue);
  for (const [name, set] of Object.entries(sets)) {
    each(['backups', name, 'databases'], set.databases, known.postgres, 'postgres target');
    each(['backups', name, 'notify'], set.notify, known.notifiers, 'notifier');
  }
}

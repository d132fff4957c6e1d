import { z } from 'zod';
import { count } from '../fields';
import { addIssue } from '../validation';
import { targetName } from '../names';

/**
 * A plain PostgreSQL identifier. Only these are accepted, and activities still quote them: a
 * table or column name can then never carry SQL, whatever the input says.
 */
const sqlIdentifier = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]{0,62}$/,
    'a plain SQL identifier: a letter or "_", then letters, digits or "_" (max 63)',
  );

const tableName = z
  .string()
  .regex(
    /^([A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$/,
    'a table as "table" or "schema.table" (plain SQL identifiers)',
  );

/**
 * An operator-supplied SQL expression over the source row (a mapping or the filter). It is trusted
 * like the config — whoever can start a migration can already write to both databases — but it must
 * be one expression: no statement separator and no comment that could hide the rest of a statement.
 * Activities also prepare every expression against the source (EXPLAIN) before anything is copied.
 */
const sqlExpression = z
  .string()
  .trim()
  .min(1, 'an SQL expression')
  .max(4000)
  .refine((s) => !s.includes(';'), 'one SQL expression, without ";"')
  .refine((s) => !s.includes('--') && !s.includes('/*'), 'an SQL expression without comments ("--", "/*")');

const tableRef = z.object({ database: targetName, table: tableName }).strict();

export const dataMigrationInput = z
  .object({
    /** Names the migration in `migration_log`, the progress table, the workflow id and the Web UI. */
    name: targetName,
    /** Databases are names from the worker config (`postgres.<name>`); they may be the same one. */
    source: tableRef,
    target: tableRef,
    /** The key: a unique source column and the unique target column it becomes. */
    key: z.union([
      sqlIdentifier.transform((k) => ({ source: k, target: k })),
      z.object({ source: sqlIdentifier, target: sqlIdentifier }).strict(),
    ]),
    /** Target column → SQL expression over the source row (often just a source column name). */
    columns: z
      .record(sqlIdentifier, sqlExpression)
      .refine((c) => Object.keys(c).length > 0, 'at least one column mapping'),
    /** Which source rows to migrate, e.g. `migrate_flag = 0`. */
    filter: sqlExpression.optional(),
    /** Set on each copied source row in the same transaction as its copy (same database). */
    flag: z
      .object({ column: sqlIdentifier, value: z.union([z.string(), z.number(), z.boolean()]) })
      .strict()
      .optional(),
    chunkSize: count.max(1_000_000).default(10_000),
    parallelism: count.max(32).default(4),
    /** copy (then verify unless `verify: false`), verify only, or dry-run: check and plan, change nothing. */
    mode: z.enum(['copy', 'verify', 'dry-run']).default('copy'),
    verify: z.boolean().default(true),
    /** How many differing keys a verification report lists (it always counts them all). */
    reportKeys: count.max(1000).default(20),
    /** Schema (in the target database) of migration_log and opsflow's progress tables. */
    stateSchema: sqlIdentifier.default('public'),
    /** Chunks one workflow run handles before it continues as new, to keep its history small. */
    chunksPerRun: count.max(2000).default(200),
  })
  .strict()
  .superRefine((input, ctx) => {
    const mapped = input.columns[input.key.target];
    if (mapped !== undefined && mapped !== input.key.source) {
      addIssue(
        ctx,
        ['columns', input.key.target],
        `the target key "${input.key.target}" must map to the source key column "${input.key.source}" unchanged`,
      );
    }
    if (input.flag && input.mode === 'copy' && input.filter === undefined) {
      addIssue(
        ctx,
        ['filter'],
        'a flag needs a filter that excludes flagged rows (e.g. "migrate_flag = 0"), or reruns would copy them again',
      );
    }
  });

export type DataMigrationInput = z.input<typeof dataMigrationInput>;
export type MigrationSpec = z.infer<typeof dataMigrationInput>;

/** The mapping with the key first, as (target column, source expression) pairs in a fixed order. */
export function mappedColumns(spec: Pick<MigrationSpec, 'key' | 'columns'>): { target: string; expr: string }[] {
  const rest = Object.entries(spec.columns)
    .filter(([t]) => t !== spec.key.target)
    .map(([target, expr]) => ({ target, expr }));
  return [{ target: spec.key.target, expr: spec.key.source }, ...rest];
}

/** Rows a verification compares on the source: the migrated ones (flag set) or those the filter selects. */
export function verificationPredicate(spec: Pick<MigrationSpec, 'flag' | 'filter'>): 'flag' | 'filter' | 'all' {
  if (spec.flag) return 'flag';
  return spec.filter ? 'filter' : 'all';
}

/** The runbook's migration (runbooks §2) as an input: the documented example. */
export const runbookExample: DataMigrationInput = {
  name: 'old-users-to-new-users',
  source: { database: 'app', table: 'old_users' },
  target: { database: 'app', table: 'new_users' },
  key: { source: 'id', target: 'user_id' },
  columns: {
    user_id: 'id',
    username: 'login_name',
    email: 'email_address',
    phone: 'phone_number',
    created_at: 'create_time',
    updated_at: 'modify_time',
    status: 'user_status',
  },
  filter: 'migrate_flag = 0',
  flag: { column: 'migrate_flag', value: 1 },
};

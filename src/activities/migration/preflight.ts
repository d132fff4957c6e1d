import { ApplicationFailure } from '@temporalio/activity';
import type { Client } from 'pg';
import type { MigrationSpec } from '../../domain/migration/input';
import { mappedColumns } from '../../domain/migration/input';
import { oneStatement } from './session';
import { flagChunkSql, insertChunkSql, quoteIdent, quoteTable, type MigrationShape } from './sql';

const fail = (message: string, type = 'MigrationInputError') => ApplicationFailure.nonRetryable(message, type);

interface ColumnInfo {
  name: string;
  type: string;
  attnum: number;
}

async function tableColumns(
  c: Client,
  table: string,
  field: string,
  database: string,
): Promise<{ oid: number; columns: Map<string, ColumnInfo> }> {
  const reg = await c.query<{ oid: number | null }>('SELECT to_regclass($1)::oid AS oid', [quoteTable(table)]);
  const oid = reg.rows[0]?.oid;
  if (!oid) throw fail(`${field}: table "${table}" does not exist in database "${database}"`, 'MissingTable');
  const cols = await c.query<ColumnInfo>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attnum
       FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped`,
    [oid],
  );
  return { oid, columns: new Map(cols.rows.map((r) => [r.name, r])) };
}

/** Whether a unique index (or primary key) covers exactly this one column, without a predicate. */
async function hasUniqueIndex(c: Client, oid: number, attnum: number): Promise<boolean> {
  const r = await c.query(
    `SELECT 1 FROM pg_index WHERE indrelid = $1 AND indisunique AND indnkeyatts = 1 AND indkey[0] = $2 AND indpred IS NULL LIMIT 1`,
    [oid, attnum],
  );
  return (r.rowCount ?? 0) > 0;
}

/** EXPLAIN never executes: it proves an expression parses, its columns exist and its cast is valid. */
async function prepare(c: Client, sql: string, values: unknown[], field: string): Promise<void> {
  try {
    await c.query('BEGIN READ ONLY');
    await oneStatement(c, `EXPLAIN ${sql}`, values);
  } catch (err) {
    const e = err as { message: string; code?: string };
    throw fail(`${field}: ${e.message}${e.code ? ` (SQLSTATE ${e.code})` : ''}`, 'InvalidMapping');
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
  }
}

/**
 * Checks a migration against both catalogs before anything is touched, and returns the column
 * types the copy and the checksums need. Every failure names the input field and the thing.
 * Read-only, so a retry is harmless.
 */
export async function preflight(
  spec: MigrationSpec,
  src: Client,
  tgt: Client,
  sameDatabase: boolean,
): Promise<MigrationShape> {
  const source = await tableColumns(src, spec.source.table, 'source.table', spec.source.database);
  const target = await tableColumns(tgt, spec.target.table, 'target.table', spec.target.database);

  const key = source.columns.get(spec.key.source);
  if (!key)
    throw fail(
      `key.source: column "${spec.key.source}" does not exist in source table "${spec.source.table}"`,
      'UnknownColumn',
    );
  const mapping = mappedColumns(spec);
  const columns = mapping.map((m) => {
    const col = target.columns.get(m.target);
    if (!col) {
      const field = m.target === spec.key.target ? 'key.target' : `columns.${m.target}`;
      throw fail(
        `${field}: column "${m.target}" does not exist in target table "${spec.target.table}"`,
        'UnknownColumn',
      );
    }
    return { target: m.target, expr: m.expr, type: col.type };
  });
  let flagType: string | undefined;
  if (spec.flag) {
    const flag = source.columns.get(spec.flag.column);
    if (!flag)
      throw fail(
        `flag.column: column "${spec.flag.column}" does not exist in source table "${spec.source.table}"`,
        'UnknownColumn',
      );
    flagType = flag.type;
    await prepare(src, `SELECT $1::${flag.type}`, [String(spec.flag.value)], 'flag.value');
  }

  const from = `${quoteTable(spec.source.table)} s`;
  for (const c of columns.slice(1))
    await prepare(src, `SELECT (${c.expr})::${c.type} FROM ${from}`, [], `columns.${c.target}`);
  if (spec.filter) await prepare(src, `SELECT 1 FROM ${from} WHERE (${spec.filter})`, [], 'filter');

  if (!(await hasUniqueIndex(src, source.oid, key.attnum))) {
    const dup = await src.query<{ k: string; n: string }>(
      `SELECT s.${quoteIdent(spec.key.source)}::text AS k, count(*) AS n FROM ${from} GROUP BY 1 HAVING count(*) > 1 ORDER BY 2 DESC LIMIT 1`,
    );
    if (dup.rows[0]) {
      throw fail(
        `key.source: "${spec.key.source}" is not unique in "${spec.source.table}" (value ${dup.rows[0].k} appears ${dup.rows[0].n} times)`,
        'KeyNotUnique',
      );
    }
    if (spec.mode !== 'dry-run') {
      throw fail(
        `key.source: "${spec.key.source}" has no unique index in "${spec.source.table}"; chunks need a unique, indexed key`,
        'KeyNotUnique',
      );
    }
  }
  const targetKey = target.columns.get(spec.key.target)!;
  if (!(await hasUniqueIndex(tgt, target.oid, targetKey.attnum))) {
    throw fail(
      `key.target: "${spec.key.target}" is not unique in "${spec.target.table}" (no primary key or unique index on it alone); upserts need one`,
      'KeyNotUnique',
    );
  }

  const shape: MigrationShape = { keyType: key.type, columns, flagType, sameDatabase };
  const all = { lo: null, hi: null };
  if (sameDatabase) {
    // The very statements a chunk runs, prepared whole: types of every column, the ON CONFLICT target.
    const stmt = insertChunkSql(spec, shape, all, true);
    await prepare(src, stmt.text, stmt.values, 'columns');
  }
  if (spec.flag) {
    const stmt = flagChunkSql(spec, shape, all);
    await prepare(src, stmt.text, stmt.values, 'flag');
  }
  return shape;
}

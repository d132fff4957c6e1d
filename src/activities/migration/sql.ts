import type { KeyRange } from '../../domain/migration/plan';
import type { MigrationSpec } from '../../domain/migration/input';
import { quoteIdent, quoteTable } from '../systems/postgres/identifiers';

/**
 * The SQL of a migration, built from validated identifiers (always quoted here) and the operator's
 * expressions (trusted, prepared against the source before use). Values always go as parameters.
 */

export { quoteIdent, quoteTable } from '../systems/postgres/identifiers';

/** Column types as the catalogs report them; carried in workflow state (small, no secrets). */
export interface MigrationShape {
  /** Type of the source key column, e.g. `bigint`: keys travel as text and are cast back. */
  keyType: string;
  /** Mapped columns, key first: target column, source expression, target column type. */
  columns: { target: string; expr: string; type: string }[];
  /** Type of the flag column on the source, when there is a flag. */
  flagType?: string;
  /** Source and target resolve to the same server and database: one-statement copies. */
  sameDatabase: boolean;
}

/** Collects positional parameters while a statement is built. */
export class Params {
  readonly values: unknown[] = [];
  add(value: unknown, type?: string): string {
    this.values.push(value);
    return `$${this.values.length}${type ? `::${type}` : ''}`;
  }
}

/** `key > lo AND key <= hi` for one side (`alias.column`), each bound a typed parameter. */
export function rangeSql(column: string, range: KeyRange, keyType: string, p: Params): string {
  const parts: string[] = [];
  if (range.lo !== null) parts.push(`${column} > ${p.add(range.lo, keyType)}`);
  if (range.hi !== null) parts.push(`${column} <= ${p.add(range.hi, keyType)}`);
  return parts.length ? parts.join(' AND ') : 'true';
}

/** The source rows a copy takes: the operator's filter, or all. */
export function copyPredicate(spec: MigrationSpec): string {
  return spec.filter ? `(${spec.filter})` : 'true';
}

/** The source rows a verification compares: the flagged ones if there is a flag, else the filter's. */
export function verifyPredicate(spec: MigrationSpec, shape: MigrationShape, p: Params): string {
  if (spec.flag) return `s.${quoteIdent(spec.flag.column)} = ${p.add(String(spec.flag.value), shape.flagType)}`;
  return copyPredicate(spec);
}

export const sourceKey = (spec: MigrationSpec) => `s.${quoteIdent(spec.key.source)}`;
export const targetKey = (spec: MigrationSpec) => `t.${quoteIdent(spec.key.target)}`;

/**
 * Target column types whose own hash PostgreSQL computes from the value itself, and for which two
 * values hash alike exactly when they render alike as text (so a row's typed hash tells the same
 * rows apart as its text would): integers, booleans, dates and times, uuid, bytea, and strings
 * (hashed under the "C" collation, byte for byte). Every other type (numeric, whose 1.0 and 1.00
 * are equal but render apart; floats, whose -0 and 0 are; json without a hash; enums, arrays,
 * domains, custom types) is hashed as its text, rendered in the fixed session settings.
 */
const typedHash =
  /^(smallint|integer|bigint|boolean|date|uuid|bytea|text|character varying(\(\d+\))?|character(\(\d+\))?|timestamp(\(\d\))? with(out)? time zone|time(\(\d\))? without time zone)$/;
const collatable = /^(text|character)/;

/** One mapped value as a field of the row that is hashed: the value itself, or its text. */
function hashField(value: string, type: string): string {
  if (!typedHash.test(type)) return `(${value})::text COLLATE "C"`;
  return collatable.test(type) ? `${value} COLLATE "C"` : value;
}

/**
 * A row's 64-bit hash: `hash_record_extended` over the mapped values, each cast to the target
 * column's type (on the source) or read from it (on the target), so both sides hash the same typed
 * record. It uses each type's extended hash, the stable hash behind hash partitioning (same value
 * on every server of PostgreSQL 14 or later), NULL kept apart from any value; about 2.3× cheaper
 * than hashing the row rendered as text (measured on the runbook's rows, see the Benchmark section
 * of docs/data-migration.md), since timestamps and integers are no longer rendered.
 */
export function sourceRowHash(shape: MigrationShape): string {
  const fields = shape.columns.map((c) => hashField(`((${c.expr})::${c.type})`, c.type));
  return `hash_record_extended(ROW(${fields.join(', ')}), 0)`;
}

export function targetRowHash(shape: MigrationShape): string {
  const fields = shape.columns.map((c) => hashField(`t.${quoteIdent(c.target)}`, c.type));
  return `hash_record_extended(ROW(${fields.join(', ')}), 0)`;
}

/** The exact (numeric) sum of row hashes: order-independent, so a range's checksum needs no sort. */
export const hashSum = (rowHash: string) => `coalesce(sum(${rowHash}), 0)::text`;

/**
 * The same-database copy of one chunk's rows: INSERT … SELECT, with ON CONFLICT when the target
 * range may already hold rows (a rerun, a table written by others); a plain INSERT into an empty
 * range is what the runbook's statement costs, and a conflict there aborts the transaction.
 */
export function insertChunkSql(
  spec: MigrationSpec,
  shape: MigrationShape,
  range: KeyRange,
  upsert: boolean,
): { text: string; values: unknown[] } {
  const p = new Params();
  const cols = shape.columns;
  const targetCols = cols.map((c) => quoteIdent(c.target)).join(', ');
  const selectList = cols.map((c, i) => (i === 0 ? sourceKey(spec) : `(${c.expr})`)).join(', ');
  const where = `${rangeSql(sourceKey(spec), range, shape.keyType, p)} AND ${copyPredicate(spec)}`;
  return {
    text:
      `INSERT INTO ${quoteTable(spec.target.table)} AS t (${targetCols}) SELECT ${selectList} FROM ${quoteTable(spec.source.table)} s WHERE ${where}` +
      (upsert ? ` ${onConflict(spec, shape)}` : ''),
    values: p.values,
  };
}

function onConflict(spec: MigrationSpec, shape: MigrationShape): string {
  const updates = shape.columns.slice(1).map((c) => `${quoteIdent(c.target)} = EXCLUDED.${quoteIdent(c.target)}`);
  return `ON CONFLICT (${quoteIdent(spec.key.target)}) DO ${updates.length ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`;
}

/**
 * Flags a chunk's source rows. Run in the copy's REPEATABLE READ transaction, it sees the very
 * snapshot the copy read: exactly the copied rows are flagged, never a row inserted meanwhile (the
 * runbook's race), and a row changed meanwhile fails the transaction (retried) instead.
 */
export function flagChunkSql(
  spec: MigrationSpec,
  shape: MigrationShape,
  range: KeyRange,
): { text: string; values: unknown[] } {
  const p = new Params();
  const flag = spec.flag!;
  return {
    text:
      `UPDATE ${quoteTable(spec.source.table)} s SET ${quoteIdent(flag.column)} = ${p.add(String(flag.value), shape.flagType)} ` +
      `WHERE ${rangeSql(sourceKey(spec), range, shape.keyType, p)} AND ${copyPredicate(spec)}`,
    values: p.values,
  };
}

/** Whether the target already holds any row in the range (one index probe). */
export function targetRangeOccupiedSql(
  spec: MigrationSpec,
  shape: MigrationShape,
  range: KeyRange,
): { text: string; values: unknown[] } {
  const p = new Params();
  return {
    text: `SELECT EXISTS (SELECT 1 FROM ${quoteTable(spec.target.table)} t WHERE ${rangeSql(targetKey(spec), range, shape.columns[0].type, p)}) AS occupied`,
    values: p.values,
  };
}

/** The source side of a two-database copy: the mapped rows of a chunk, for `COPY (…) TO STDOUT`. */
export function copyOutSql(spec: MigrationSpec, shape: MigrationShape, range: KeyRange): string {
  // COPY takes no parameters: bounds are inlined as quoted literals of validated-by-cast keys.
  const lit = (v: string) => `'${v.replace(/'/g, "''")}'::${shape.keyType}`;
  const parts = [copyPredicate(spec)];
  if (range.lo !== null) parts.push(`${sourceKey(spec)} > ${lit(range.lo)}`);
  if (range.hi !== null) parts.push(`${sourceKey(spec)} <= ${lit(range.hi)}`);
  const selectList = shape.columns.map((c, i) => (i === 0 ? sourceKey(spec) : `(${c.expr})`)).join(', ');
  return `COPY (SELECT ${selectList} FROM ${quoteTable(spec.source.table)} s WHERE ${parts.join(' AND ')}) TO STDOUT`;
}

/** The upsert from the staging table into the target (two-database path, occupied range). */
export function upsertFromStagingSql(spec: MigrationSpec, shape: MigrationShape, staging: string): string {
  const cols = shape.columns.map((c) => quoteIdent(c.target)).join(', ');
  return `INSERT INTO ${quoteTable(spec.target.table)} AS t (${cols}) SELECT ${cols} FROM ${staging} ${onConflict(spec, shape)}`;
}

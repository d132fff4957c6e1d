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
 * rows apart as its text would, but for the fold of 8-byte values' halves, see Limits in
 * docs/data-migration.md): integers, booleans, dates and times, uuid, bytea, and strings
 * (hashed under the "C" collation, byte for byte). Every other type (numeric, whose 1.0 and 1.00
 * are equal but render apart; floats, whose -0 and 0 are; json without a hash; enums, arrays,
 * domains, custom types) is hashed as its text, rendered in the fixed session settings.
 *
 * Each entry names the type's extended hash function — support function 2 of its default hash
 * operator class (`pg_amproc`), the stable hash behind hash partitioning — and a value of the type
 * that stands in for NULL (a NULL is told apart by the row's NULL bitmap, not by this value).
 * `timestamptz` shares `timestamp`'s function, whose argument is a `timestamp`: the value is read
 * at UTC, the same instant's same microseconds. boolean, date and bytea have functions whose
 * declared argument is another type (`"char"`, `integer`, `internal`) that SQL cannot call them
 * with, so they go through `hash_record_extended` of a one-field row, which calls their hash
 * function with the seed (the same chaining, for the price of forming the row).
 */
interface TypeHash {
  type: RegExp;
  fn: string;
  zero: string;
  /** The value as the function's argument type. */
  arg?: (v: string) => string;
  /** Hashed as a one-field record: the function's own argument type is not castable to. */
  viaRecord?: boolean;
}
const typeHashes: TypeHash[] = [
  { type: /^smallint$/, fn: 'hashint2extended', zero: '0::smallint' },
  { type: /^integer$/, fn: 'hashint4extended', zero: '0' },
  { type: /^bigint$/, fn: 'hashint8extended', zero: '0::bigint' },
  { type: /^(text|character varying(\(\d+\))?)$/, fn: 'hashtextextended', zero: "''" },
  { type: /^character(\(\d+\))?$/, fn: 'hashbpcharextended', zero: "''" },
  { type: /^timestamp(\(\d\))? without time zone$/, fn: 'timestamp_hash_extended', zero: "'epoch'::timestamp" },
  {
    type: /^timestamp(\(\d\))? with time zone$/,
    fn: 'timestamp_hash_extended',
    zero: "'epoch'::timestamp",
    arg: (v) => `(${v} AT TIME ZONE 'UTC')`,
  },
  { type: /^time(\(\d\))? without time zone$/, fn: 'time_hash_extended', zero: "'00:00'::time" },
  { type: /^uuid$/, fn: 'uuid_hash_extended', zero: "'00000000-0000-0000-0000-000000000000'::uuid" },
  { type: /^bytea$/, fn: 'hash_record_extended', zero: "'\\x'::bytea", viaRecord: true },
  { type: /^boolean$/, fn: 'hash_record_extended', zero: 'false', viaRecord: true },
  { type: /^date$/, fn: 'hash_record_extended', zero: "'epoch'::date", viaRecord: true },
];
/** What any other type is hashed as: its text, rendered in the fixed session settings. */
const asText: TypeHash = { type: /^/, fn: 'hashtextextended', zero: "''" };
const collatable = /^(text|character)/;

/** One mapped value as it is hashed (the value itself, or its text; strings under "C"), and how. */
function hashedValue(value: string, type: string): { value: string; hash: TypeHash } {
  const hash = typeHashes.find((h) => h.type.test(type));
  if (!hash) return { value: `((${value})::text COLLATE "C")`, hash: asText };
  const v = collatable.test(type) ? `(${value} COLLATE "C")` : value;
  return { value: hash.arg ? hash.arg(v) : v, hash };
}

/**
 * Columns per NULL bitmap word: a word is an int4, the first seed or hashed into the chain by
 * `hashint4extended` (`hashint8extended` folds its value's two halves: bits 0 and 32 would meet).
 */
const NULL_WORD = 28;
/** Columns whose NULL bits one decision tree yields (2^n - 1 tests written, n evaluated per row, no operator). */
const NULL_GROUP = 4;

/** The NULL bits of some columns as one constant, chosen by testing each column once. */
function nullBits(values: string[], first: number, acc = 0): string {
  if (values.length === 0) return String(acc);
  const [v, ...rest] = values;
  return `CASE WHEN ${v} IS NULL THEN ${nullBits(rest, first + 1, acc | (1 << first))} ELSE ${nullBits(rest, first + 1, acc)} END`;
}

/**
 * A row's 64-bit hash over the mapped values, each hashed with its type's own extended hash and
 * chained through the seed: h₀ = the row's NULL bitmap, hᵢ = hashᵢ(valueᵢ, hᵢ₋₁). Chaining makes the
 * row's hash depend on every value *and its position*: a value moved to another column or another
 * row changes the chunk's sum (`hash_record_extended`, used before, combines its fields' hashes
 * linearly, so two rows swapping a column's values kept the sum but for a wrap-around). A NULL
 * hashes as its type's stand-in value and sets its column's bit in the bitmap (28 columns to a
 * word; the first word is the first seed, each further one is hashed into the chain), so a NULL
 * differs from every value, and NULLs in different columns differ, by construction: never by
 * the stand-in. The hash functions are strict, so one NULL would otherwise null the whole chain
 * (and a `coalesce` of the chain itself would repeat it in the expression, doubling at each column).
 * The bitmap's bits come from decision trees of 4 columns (each column tested once, no operator
 * but one `|` per 4 columns): a `CASE` and an `|` per column cost as much as the record saved.
 * Cheaper than `hash_record_extended` of a `ROW` (no record is formed; see "Where the
 * verification's time went" in docs/data-migration.md).
 */
function rowHash(values: { value: string; type: string; read: string }[]): string {
  const fields = values.map((x) => hashedValue(x.value, x.type));
  const words: string[] = [];
  for (let i = 0; i < values.length; i += NULL_WORD) {
    const groups: string[] = [];
    for (let j = i; j < Math.min(i + NULL_WORD, values.length); j += NULL_GROUP) {
      const end = Math.min(j + NULL_GROUP, i + NULL_WORD, values.length);
      groups.push(
        nullBits(
          values.slice(j, end).map((x) => x.read),
          j - i,
        ),
      );
    }
    words.push(groups.join(' | '));
  }
  let chain = `(${words[0]})::bigint`;
  fields.forEach((f, i) => {
    if (i > 0 && i % NULL_WORD === 0) chain = `pg_catalog.hashint4extended(${words[i / NULL_WORD]}, ${chain})`;
    const v = `coalesce(${f.value}, ${f.hash.zero})`;
    chain = `pg_catalog.${f.hash.fn}(${f.hash.viaRecord ? `ROW(${v})` : v}, ${chain})`;
  });
  return chain;
}

/**
 * A row's hash on the source: each mapped value cast to the target column's type, so both sides
 * hash the same typed values with the same functions. Its NULL bit is read from the expression
 * before the cast (a cast keeps NULL and non-NULL apart) — the cast again, a timestamp's to
 * `timestamptz` above all, cost a quarter of the source's hashing — except for a type hashed as
 * text, whose value may be a row (a row of NULLs tests NULL, its cast to text does not). So a
 * row-typed expression mapped to a column hashed by value (a text column) whose fields are all
 * NULL reads as NULL here and as text on the target: reported as differing, never missed.
 */
export function sourceRowHash(shape: MigrationShape): string {
  return rowHash(
    shape.columns.map((c) => {
      const value = `((${c.expr})::${c.type})`;
      return { value, type: c.type, read: typeHashes.some((h) => h.type.test(c.type)) ? `(${c.expr})` : value };
    }),
  );
}

/** A row's hash on the target: each mapped column as it is stored. */
export function targetRowHash(shape: MigrationShape): string {
  return rowHash(
    shape.columns.map((c) => ({ value: `t.${quoteIdent(c.target)}`, type: c.type, read: `t.${quoteIdent(c.target)}` })),
  );
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

import type { Client } from 'pg';
import type { MigrationSpec } from '../../domain/migration/input';
import {
  bisectionStep,
  defaultBisection,
  diffRowHashes,
  reportFromDiff,
  splitRange,
  splitStep,
  type BisectionSettings,
  type Chunk,
  type KeyDiff,
  type KeyRange,
  type MismatchReport,
  type RangeSums,
} from '../../domain/migration/plan';
import {
  hashSum,
  Params,
  rowHash,
  quoteTable,
  rangeSql,
  sourceKey,
  sourceRowText,
  targetKey,
  targetRowText,
  verifyPredicate,
  type MigrationShape,
} from './sql';
import { stateTables } from './state-tables';
import { oneStatement } from './session';

export interface ChunkVerification {
  chunkNo: number;
  sourceRows: number;
  targetRows: number;
  sourceChecksum: string;
  targetChecksum: string;
  match: boolean;
  /** Same database, differing chunk: source rows without a target row, by anti-join (the runbook's check). */
  antiJoinMissing?: number;
  mismatches: MismatchReport;
  finishedAtMs: number;
}

/** One side of the comparison: how to select its rows of a range, rendered alike on both sides. */
interface Side {
  client: Client;
  /** FROM … WHERE … for a range, its parameters appended to `p`. */
  from(range: KeyRange, p: Params): string;
  key: string;
  rowText: string;
}

function sides(spec: MigrationSpec, shape: MigrationShape, src: Client, tgt: Client): { source: Side; target: Side } {
  const targetKeyType = shape.columns[0].type;
  return {
    source: {
      client: src,
      key: sourceKey(spec),
      rowText: sourceRowText(shape),
      from: (range, p) =>
        `${quoteTable(spec.source.table)} s WHERE ${rangeSql(sourceKey(spec), range, shape.keyType, p)} AND ${verifyPredicate(spec, shape, p)}`,
    },
    target: {
      client: tgt,
      key: targetKey(spec),
      rowText: targetRowText(shape),
      from: (range, p) =>
        `${quoteTable(spec.target.table)} t WHERE ${rangeSql(targetKey(spec), range, targetKeyType, p)}`,
    },
  };
}

async function sums(side: Side, range: KeyRange): Promise<RangeSums> {
  const p = new Params();
  const r = await oneStatement<{ n: string; sum: string }>(
    side.client,
    `SELECT count(*) AS n, ${hashSum(side.rowText)} AS sum FROM ${side.from(range, p)}`,
    p.values,
  );
  return { rows: Number(r.rows[0].n), sum: r.rows[0].sum };
}

async function rowHashes(side: Side, range: KeyRange): Promise<[string, string][]> {
  const p = new Params();
  const r = await side.client.query<{ k: string; h: string }>({
    text: `SELECT ${side.key}::text AS k, ${rowHash(side.rowText)}::text AS h FROM ${side.from(range, p)}`,
    values: p.values,
    rowMode: 'array',
    queryMode: 'extended',
  } as never);
  return r.rows as unknown as [string, string][];
}

async function splitKeys(side: Side, range: KeyRange, step: number): Promise<string[]> {
  const p = new Params();
  const from = side.from(range, p);
  const s = p.add(step, 'bigint');
  const r = await oneStatement<{ k: string }>(
    side.client,
    `SELECT k FROM (SELECT ${side.key}::text AS k, row_number() OVER (ORDER BY ${side.key}) AS rn FROM ${from}) x WHERE rn % ${s} = 0 ORDER BY rn`,
    p.values,
  );
  return r.rows.map((x) => x.k);
}

/**
 * data-diff's bisection: a range whose sums differ is cut into parts (at keys of the fuller side)
 * whose sums are compared, recursively; only small differing ranges are compared row by row.
 */
async function locate(
  s: { source: Side; target: Side },
  range: KeyRange,
  a: RangeSums,
  b: RangeSums,
  settings: BisectionSettings,
  depth: number,
): Promise<KeyDiff> {
  const step = bisectionStep(a, b, settings, depth < 12);
  if (step === 'equal') return { missing: [], extra: [], differing: [] };
  if (step === 'compare-rows') {
    const [x, y] = await Promise.all([rowHashes(s.source, range), rowHashes(s.target, range)]);
    return diffRowHashes(x, y);
  }
  const fuller = a.rows >= b.rows ? s.source : s.target;
  const parts = splitRange(range, await splitKeys(fuller, range, splitStep(Math.max(a.rows, b.rows), settings.factor)));
  if (parts.length < 2) return locate(s, range, a, b, settings, Number.POSITIVE_INFINITY);
  const out: KeyDiff = { missing: [], extra: [], differing: [] };
  for (const part of parts) {
    const [pa, pb] = await Promise.all([sums(s.source, part), sums(s.target, part)]);
    const d = await locate(s, part, pa, pb, settings, depth + 1);
    out.missing.push(...d.missing);
    out.extra.push(...d.extra);
    out.differing.push(...d.differing);
  }
  return out;
}

/**
 * Verifies one chunk: row counts and checksums over the mapped columns on both sides, the
 * anti-join in one database, and bisection to the exact keys where the checksums differ. The
 * outcome is written to the chunk's progress row (an update by key, so a retry rewrites the same).
 */
export async function verifyChunk(
  src: Client,
  tgt: Client,
  spec: MigrationSpec,
  shape: MigrationShape,
  chunk: Chunk,
  settings: BisectionSettings = defaultBisection,
): Promise<ChunkVerification> {
  const s = sides(spec, shape, src, tgt);
  const [a, b] = await Promise.all([sums(s.source, chunk), sums(s.target, chunk)]);
  let antiJoinMissing: number | undefined;
  // Equal counts and checksums already rule out a missing row; the runbook's anti-join is the
  // independent cross-check of a chunk that differs (and costs a third scan, so only then).
  if (shape.sameDatabase && !(a.rows === b.rows && a.sum === b.sum)) {
    const p = new Params();
    const r = await oneStatement<{ n: string }>(
      src,
      `SELECT count(*) AS n FROM ${s.source.from(chunk, p)}
         AND NOT EXISTS (SELECT 1 FROM ${quoteTable(spec.target.table)} t WHERE ${targetKey(spec)} = ${sourceKey(spec)})`,
      p.values,
    );
    antiJoinMissing = Number(r.rows[0].n);
  }
  const diff = await locate(s, chunk, a, b, settings, 0);
  const sortKeys = (keys: string[]) => keys.sort((x, y) => x.length - y.length || (x < y ? -1 : x > y ? 1 : 0));
  (['missing', 'extra', 'differing'] as const).forEach((k) => sortKeys(diff[k]));
  const mismatches = reportFromDiff(chunk.no, diff, spec.reportKeys);
  const match = a.rows === b.rows && a.sum === b.sum;
  const t = stateTables(spec.stateSchema);
  await tgt.query(
    `UPDATE ${t.chunks} SET verify_status = $3, source_rows = $4, target_rows = $5, source_checksum = $6, target_checksum = $7,
        mismatch = $8, verified_at = now() WHERE migration_name = $1 AND chunk_no = $2`,
    [
      spec.name,
      chunk.no,
      match ? 'match' : 'mismatch',
      a.rows,
      b.rows,
      a.sum,
      b.sum,
      match ? null : JSON.stringify(mismatches),
    ],
  );
  return {
    chunkNo: chunk.no,
    sourceRows: a.rows,
    targetRows: b.rows,
    sourceChecksum: a.sum,
    targetChecksum: b.sum,
    match,
    antiJoinMissing,
    mismatches,
    finishedAtMs: Date.now(),
  };
}

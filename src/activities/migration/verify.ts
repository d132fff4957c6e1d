import { createHash } from 'node:crypto';
import type { Client } from 'pg';
import type { MigrationSpec } from '../../domain/migration/input';
import {
  bisectionStep,
  boundReportKeys,
  defaultBisection,
  diffRowHashes,
  emptyMismatches,
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
  quoteTable,
  rangeSql,
  sourceKey,
  sourceRowHash,
  targetKey,
  targetRowHash,
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
  /** The row's 64-bit hash, alike on both sides for alike rows. */
  rowHash: string;
}

function sides(spec: MigrationSpec, shape: MigrationShape, src: Client, tgt: Client): { source: Side; target: Side } {
  const targetKeyType = shape.columns[0].type;
  return {
    source: {
      client: src,
      key: sourceKey(spec),
      rowHash: sourceRowHash(shape),
      from: (range, p) =>
        `${quoteTable(spec.source.table)} s WHERE ${rangeSql(sourceKey(spec), range, shape.keyType, p)} AND ${verifyPredicate(spec, shape, p)}`,
    },
    target: {
      client: tgt,
      key: targetKey(spec),
      rowHash: targetRowHash(shape),
      from: (range, p) =>
        `${quoteTable(spec.target.table)} t WHERE ${rangeSql(targetKey(spec), range, targetKeyType, p)}`,
    },
  };
}

/**
 * A range's row count and checksum. The statement is prepared once per connection (named by its
 * text, so another migration's never answers for it): a segment runs it once per chunk with other
 * bounds, and parsing and planning the row hash's expression each time cost ~15 % of the hashing.
 * A named statement goes through the extended protocol, which refuses more than one statement.
 */
async function sums(side: Side, range: KeyRange): Promise<RangeSums> {
  const p = new Params();
  const text = `SELECT count(*) AS n, ${hashSum(side.rowHash)} AS sum FROM ${side.from(range, p)}`;
  const name = `opsflow_sums_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
  const r = await side.client.query<{ n: string; sum: string }>({ name, text, values: p.values });
  return { rows: Number(r.rows[0].n), sum: r.rows[0].sum };
}

async function rowHashes(side: Side, range: KeyRange): Promise<[string, string][]> {
  const p = new Params();
  const r = await side.client.query<{ k: string; h: string }>({
    text: `SELECT ${side.key}::text AS k, ${side.rowHash}::text AS h FROM ${side.from(range, p)}`,
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

/** Chunks verified between two writes of the progress table: a retried activity redoes at most one group. */
const GROUP = 8;

/** `fn` over the items one after another (one connection runs one statement at a time). */
async function inTurn<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const item of items) out.push(await fn(item));
  return out;
}

/**
 * Verifies chunks: per chunk, row count and checksum on both sides — each side running through
 * the chunks on its own connection, both at once — then, only for a chunk whose counts or sums
 * differ, the anti-join (one database) and the bisection to the exact keys. Results are written
 * to the progress table a group at a time (one statement per group). A retried activity
 * (`retried`) reads back the chunks its earlier attempt recorded as matching instead of hashing
 * them again: each chunk goes to one activity, and a verification's plan clears every chunk's
 * verdict before it starts, so a verdict found on a retry is that attempt's.
 */
export async function verifyChunks(
  src: Client,
  tgt: Client,
  spec: MigrationSpec,
  shape: MigrationShape,
  chunks: Chunk[],
  opts: { retried?: boolean; onProgress?: (done: number) => void; settings?: BisectionSettings } = {},
): Promise<ChunkVerification[]> {
  const { onProgress = () => undefined, settings = defaultBisection } = opts;
  const s = sides(spec, shape, src, tgt);
  const before = opts.retried ? await matchedBefore(tgt, spec, chunks) : [];
  const done = new Map(before.map((v) => [v.chunkNo, v]));
  const todo = chunks.filter((c) => !done.has(c.no));
  for (let i = 0; i < todo.length; i += GROUP) {
    const group = todo.slice(i, i + GROUP);
    const [a, b] = await Promise.all([
      inTurn(group, (c) => sums(s.source, c)),
      inTurn(group, (c) => sums(s.target, c)),
    ]);
    const results = await inTurn(
      group.map((chunk, j) => ({ chunk, a: a[j], b: b[j] })),
      (x) => outcome(s, spec, shape, x.chunk, x.a, x.b, settings),
    );
    await record(tgt, spec, results);
    for (const r of results) done.set(r.chunkNo, r);
    onProgress(done.size);
  }
  // Each chunk's own first keys are in the progress table; the result carries only what the
  // workflow's report can list (see boundReportKeys), so history stays bounded per activity.
  const out = chunks.map((c) => done.get(c.no)!);
  const bounded = boundReportKeys(
    out.map((v) => v.mismatches),
    spec.reportKeys,
  );
  return out.map((v, i) => ({ ...v, mismatches: bounded[i] }));
}

/** One chunk's verdict from both sides' sums; a differing chunk is bisected to its keys. */
async function outcome(
  s: { source: Side; target: Side },
  spec: MigrationSpec,
  shape: MigrationShape,
  chunk: Chunk,
  a: RangeSums,
  b: RangeSums,
  settings: BisectionSettings,
): Promise<ChunkVerification> {
  const match = a.rows === b.rows && a.sum === b.sum;
  let antiJoinMissing: number | undefined;
  // Equal counts and checksums already rule out a missing row; the runbook's anti-join is the
  // independent cross-check of a chunk that differs (and costs a third scan, so only then).
  if (shape.sameDatabase && !match) {
    const p = new Params();
    const r = await oneStatement<{ n: string }>(
      s.source.client,
      `SELECT count(*) AS n FROM ${s.source.from(chunk, p)}
         AND NOT EXISTS (SELECT 1 FROM ${quoteTable(spec.target.table)} t WHERE ${targetKey(spec)} = ${sourceKey(spec)})`,
      p.values,
    );
    antiJoinMissing = Number(r.rows[0].n);
  }
  const diff = await locate(s, chunk, a, b, settings, 0);
  const sortKeys = (keys: string[]) => keys.sort((x, y) => x.length - y.length || (x < y ? -1 : x > y ? 1 : 0));
  (['missing', 'extra', 'differing'] as const).forEach((k) => sortKeys(diff[k]));
  return {
    chunkNo: chunk.no,
    sourceRows: a.rows,
    targetRows: b.rows,
    sourceChecksum: a.sum,
    targetChecksum: b.sum,
    match,
    antiJoinMissing,
    mismatches: reportFromDiff(chunk.no, diff, spec.reportKeys),
    finishedAtMs: Date.now(),
  };
}

/** Writes a group's outcomes to their chunks' progress rows in one statement (an update by key: a retry rewrites the same). */
async function record(tgt: Client, spec: MigrationSpec, results: ChunkVerification[]): Promise<void> {
  if (results.length === 0) return;
  const t = stateTables(spec.stateSchema);
  const col = <T>(f: (r: ChunkVerification) => T) => results.map(f);
  await tgt.query(
    `UPDATE ${t.chunks} c SET verify_status = v.status, source_rows = v.source_rows, target_rows = v.target_rows,
        source_checksum = v.source_checksum, target_checksum = v.target_checksum, mismatch = v.mismatch, verified_at = now()
       FROM unnest($2::int[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::jsonb[])
         AS v(chunk_no, status, source_rows, target_rows, source_checksum, target_checksum, mismatch)
      WHERE c.migration_name = $1 AND c.chunk_no = v.chunk_no`,
    [
      spec.name,
      col((r) => r.chunkNo),
      col((r) => (r.match ? 'match' : 'mismatch')),
      col((r) => r.sourceRows),
      col((r) => r.targetRows),
      col((r) => r.sourceChecksum),
      col((r) => r.targetChecksum),
      col((r) => (r.match ? null : JSON.stringify(r.mismatches))),
    ],
  );
}

/**
 * Chunks of the list recorded as matching (by an earlier attempt of the same activity, see
 * verifyChunks). A mismatching chunk is verified again, so its keys and anti-join count are
 * reported afresh.
 */
async function matchedBefore(tgt: Client, spec: MigrationSpec, chunks: Chunk[]): Promise<ChunkVerification[]> {
  const t = stateTables(spec.stateSchema);
  const r = await tgt.query<{
    chunk_no: number;
    source_rows: string;
    target_rows: string;
    source_checksum: string;
    target_checksum: string;
    at_ms: string;
  }>(
    `SELECT chunk_no, source_rows, target_rows, source_checksum, target_checksum,
            (extract(epoch FROM verified_at) * 1000)::bigint AS at_ms
       FROM ${t.chunks} WHERE migration_name = $1 AND chunk_no = ANY($2::int[]) AND verify_status = 'match'`,
    [spec.name, chunks.map((c) => c.no)],
  );
  return r.rows.map((x) => ({
    chunkNo: x.chunk_no,
    sourceRows: Number(x.source_rows),
    targetRows: Number(x.target_rows),
    sourceChecksum: x.source_checksum,
    targetChecksum: x.target_checksum,
    match: true,
    mismatches: emptyMismatches(),
    finishedAtMs: Number(x.at_ms),
  }));
}

import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { MigrationSpec } from '../../domain/migration/input';
import type { Chunk } from '../../domain/migration/plan';
import {
  copyOutSql,
  flagChunkSql,
  insertChunkSql,
  quoteIdent,
  quoteTable,
  targetRangeOccupiedSql,
  upsertFromStagingSql,
  type MigrationShape,
} from './sql';
import { stateTables } from './state-tables';
import { inTransaction, oneStatement } from './session';

export interface ChunkCopy {
  chunkNo: number;
  rows: number;
  /** Copied by this run (possibly by an earlier attempt whose report was lost): count it. */
  countedByThisRun: boolean;
  finishedAtMs: number;
}

interface ChunkRow {
  status: string;
  rows_copied: string;
  copied_by: string | null;
}

async function lockChunk(tgt: Client, spec: MigrationSpec, chunkNo: number): Promise<ChunkRow> {
  const t = stateTables(spec.stateSchema);
  const r = await tgt.query<ChunkRow>(
    `SELECT status, rows_copied, copied_by FROM ${t.chunks} WHERE migration_name = $1 AND chunk_no = $2 FOR UPDATE`,
    [spec.name, chunkNo],
  );
  if (!r.rows[0]) throw new Error(`chunk ${chunkNo} of "${spec.name}" is not in the progress table`);
  return r.rows[0];
}

const done = (chunk: Chunk, row: ChunkRow, runKey: string): ChunkCopy => ({
  chunkNo: chunk.no,
  rows: Number(row.rows_copied),
  countedByThisRun: row.copied_by === runKey,
  finishedAtMs: Date.now(),
});

class RangeChanged extends Error {
  constructor(chunk: Chunk) {
    super(`chunk ${chunk.no}: rows appeared in the target range while it was copied; retrying with an upsert`);
    this.name = 'RangeChanged';
  }
}

/**
 * A plain INSERT/COPY into a range that was empty hit the key: someone wrote there meanwhile, and
 * the retry will upsert. A duplicate on any other unique column is the data's fault: not retried.
 */
function rangeChanged(err: unknown, chunk: Chunk, occupied: boolean, targetKey: string): unknown {
  const e = err as { code?: string; detail?: string };
  const onKey = [`Key (${targetKey})=`, `Key ("${targetKey}")=`].some((p) => (e.detail ?? '').startsWith(p));
  return !occupied && e.code === '23505' && onKey ? new RangeChanged(chunk) : err;
}

/**
 * Chunk transactions commit without waiting for the WAL flush; the activity calls `finishCopy` before
 * it reports its chunks done. A chunk the workflow has counted is therefore durable, while a server
 * crash before the flush loses data and progress row together (and the activity, not yet
 * complete, is retried) — the fsync is paid once per activity instead of once per chunk. The
 * setting travels with BEGIN in one round trip (a fixed text, so the simple protocol is safe).
 */
const BEGIN_ASYNC = 'BEGIN; SET LOCAL synchronous_commit = off';
const BEGIN_ASYNC_REPEATABLE_READ = 'BEGIN ISOLATION LEVEL REPEATABLE READ; SET LOCAL synchronous_commit = off';

/** One synchronous commit: the server flushes the WAL up to it, earlier async commits included. */
async function flushWal(c: Client): Promise<void> {
  await inTransaction(c, async () => {
    await c.query('SELECT txid_current()');
  });
}

/**
 * One chunk in one database, in one REPEATABLE READ transaction: the progress row is locked first
 * (a retry racing a still-running attempt waits for it, then finds "copied" or fails to serialize
 * and retries), then INSERT … SELECT (upserting if the target range already has rows), then the
 * flag UPDATE on the same snapshot, then the progress row (whose counts migration_log's `rows_migrated` sums). A chunk
 * is copied, flagged and counted exactly once, or not at all. (The log row itself is not touched
 * here: every chunk would update that one row, and under REPEATABLE READ they would fail to serialize.)
 */
export async function copyChunkSameDb(
  c: Client,
  spec: MigrationSpec,
  shape: MigrationShape,
  chunk: Chunk,
  runKey: string,
): Promise<ChunkCopy> {
  const t = stateTables(spec.stateSchema);
  return inTransaction(
    c,
    async () => {
      const row = await lockChunk(c, spec, chunk.no);
      if (row.status === 'copied') return done(chunk, row, runKey);
      const occ = targetRangeOccupiedSql(spec, shape, chunk);
      const occupied = (await c.query<{ occupied: boolean }>(occ.text, occ.values)).rows[0].occupied;
      const ins = insertChunkSql(spec, shape, chunk, occupied);
      const rows = await oneStatement(c, ins.text, ins.values).then(
        (r) => r.rowCount ?? 0,
        (err) => {
          throw rangeChanged(err, chunk, occupied, spec.key.target);
        },
      );
      if (spec.flag) {
        const flag = flagChunkSql(spec, shape, chunk);
        await oneStatement(c, flag.text, flag.values);
      }
      await c.query(
        `UPDATE ${t.chunks} SET status = 'copied', rows_copied = $3, copied_by = $4, attempts = attempts + 1, copied_at = now()
          WHERE migration_name = $1 AND chunk_no = $2`,
        [spec.name, chunk.no, rows, runKey],
      );
      return { chunkNo: chunk.no, rows, countedByThisRun: true, finishedAtMs: Date.now() };
    },
    BEGIN_ASYNC_REPEATABLE_READ,
  );
}

/**
 * One chunk across two databases, streamed with COPY (pgcopydb's way). The target takes the
 * stream straight into the table when its range is empty, or into a staging table and upserts
 * from it, and records the chunk with its row count. Without a flag that is all: the source is
 * only read (one COPY, its own snapshot) and the chunk is "copied". With a flag the source reads
 * the chunk in a REPEATABLE READ transaction; the target records the chunk "loaded" and commits;
 * then the source flags the rows of the same snapshot and commits; `finishCopy` makes the chunk
 * "copied" once those flags are durable. A crash before that leaves "loaded": the retry copies
 * again (an upsert now, so no duplicate) and keeps the larger count.
 */
export async function copyChunkStreamed(
  src: Client,
  tgt: Client,
  spec: MigrationSpec,
  shape: MigrationShape,
  chunk: Chunk,
  runKey: string,
): Promise<ChunkCopy> {
  const t = stateTables(spec.stateSchema);
  const flagged = spec.flag !== undefined;
  if (flagged) await src.query(BEGIN_ASYNC_REPEATABLE_READ);
  try {
    let previouslyLoaded = 0;
    const loaded = await inTransaction<{ already: ChunkRow } | { rows: number }>(
      tgt,
      async () => {
        const row = await lockChunk(tgt, spec, chunk.no);
        if (row.status === 'copied') return { already: row };
        if (row.status === 'loaded') previouslyLoaded = Number(row.rows_copied);
        const occ = targetRangeOccupiedSql(spec, shape, chunk);
        const occupied = (await tgt.query<{ occupied: boolean }>(occ.text, occ.values)).rows[0].occupied;
        const cols = shape.columns.map((c) => quoteIdent(c.target)).join(', ');
        const staging = quoteIdent(`opsflow_stage_${randomBytes(6).toString('hex')}`);
        if (occupied) {
          await tgt.query(
            `CREATE TEMP TABLE ${staging} ON COMMIT DROP AS SELECT ${cols} FROM ${quoteTable(spec.target.table)} WITH NO DATA`,
          );
        }
        // The stream needs no per-buffer work: the client wrapper heartbeats every second meanwhile.
        const sink = tgt.query(
          copyFrom(`COPY ${occupied ? staging : quoteTable(spec.target.table)} (${cols}) FROM STDIN`),
        );
        await pipeline(src.query(copyTo(copyOutSql(spec, shape, chunk))), sink).catch((err) => {
          throw rangeChanged(err, chunk, occupied, spec.key.target);
        });
        const copied = occupied
          ? ((await oneStatement(tgt, upsertFromStagingSql(spec, shape, staging))).rowCount ?? 0)
          : sink.rowCount;
        const rows = Math.max(copied, previouslyLoaded);
        await tgt.query(
          `UPDATE ${t.chunks} SET status = $3, rows_copied = $4, copied_by = $5, attempts = attempts + 1, copied_at = now()
            WHERE migration_name = $1 AND chunk_no = $2`,
          [spec.name, chunk.no, flagged ? 'loaded' : 'copied', rows, runKey],
        );
        return { rows };
      },
      BEGIN_ASYNC,
    );
    if ('already' in loaded) {
      if (flagged) await src.query('ROLLBACK');
      return done(chunk, loaded.already, runKey);
    }
    if (flagged) {
      const flag = flagChunkSql(spec, shape, chunk);
      await oneStatement(src, flag.text, flag.values);
      await src.query('COMMIT');
    }
    return { chunkNo: chunk.no, rows: loaded.rows, countedByThisRun: true, finishedAtMs: Date.now() };
  } catch (err) {
    if (flagged) await src.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * The end of a copy activity, before it reports its chunks done: everything its chunks committed
 * is made durable. Across two databases with a flag the source is flushed first, and only then are
 * the activity's "loaded" chunks made "copied" (one statement, in the target's synchronous commit
 * that flushes the target): a chunk never reads "copied" while its source flags could still be
 * lost, so a retry after a source crash flags them again. One database, or no flag: the target's
 * flush alone (an unflagged source was only read).
 */
export async function finishCopy(
  src: Client,
  tgt: Client,
  spec: MigrationSpec,
  shape: MigrationShape,
  chunks: Chunk[],
): Promise<void> {
  const loadedFirst = !shape.sameDatabase && spec.flag !== undefined;
  if (loadedFirst) await flushWal(src);
  await inTransaction(tgt, async () => {
    await tgt.query('SELECT txid_current()');
    if (loadedFirst) {
      const t = stateTables(spec.stateSchema);
      await tgt.query(
        `UPDATE ${t.chunks} SET status = 'copied' WHERE migration_name = $1 AND chunk_no = ANY($2::int[]) AND status = 'loaded'`,
        [spec.name, chunks.map((c) => c.no)],
      );
    }
  });
}

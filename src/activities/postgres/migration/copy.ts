import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { Context } from '@temporalio/activity';
import type { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { MigrationSpec } from '../../../domain/migration-input';
import type { Chunk } from '../../../domain/migration-plan';
import { copyOutSql, copyPredicate, Params, quoteIdent, quoteTable, rangeSql, sameDbCopySql, sourceKey, upsertFromStagingSql, type MigrationShape } from './sql';
import { stateTables } from './state-tables';
import { inTransaction } from './session';

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

/**
 * One chunk in one database: the progress row is locked first (a retry racing a still-running
 * attempt waits for it, then sees "copied"), then one INSERT … SELECT … ON CONFLICT that also flags
 * exactly the rows it copied, then the progress row and the log's running count — all one
 * transaction. So a chunk is copied, flagged and counted exactly once, or not at all.
 */
export async function copyChunkSameDb(c: Client, spec: MigrationSpec, shape: MigrationShape, chunk: Chunk, logId: number, runKey: string): Promise<ChunkCopy> {
  const t = stateTables(spec.stateSchema);
  return inTransaction(c, async () => {
    const row = await lockChunk(c, spec, chunk.no);
    if (row.status === 'copied') return done(chunk, row, runKey);
    const stmt = sameDbCopySql(spec, shape, chunk);
    const r = await c.query<{ n: string }>(stmt.text, stmt.values);
    const rows = Number(r.rows[0].n);
    await c.query(
      `UPDATE ${t.chunks} SET status = 'copied', rows_copied = $3, copied_by = $4, attempts = attempts + 1, copied_at = now()
        WHERE migration_name = $1 AND chunk_no = $2`,
      [spec.name, chunk.no, rows, runKey],
    );
    await c.query(`UPDATE ${t.log} SET rows_migrated = rows_migrated + $2 WHERE id = $1`, [logId, rows]);
    return { chunkNo: chunk.no, rows, countedByThisRun: true, finishedAtMs: Date.now() };
  });
}

/**
 * One chunk across two databases, streamed with COPY. The source transaction (REPEATABLE READ)
 * locks the chunk's rows and reads them once; the target loads them into a staging table and
 * upserts, recording the chunk "loaded" and counting its rows; then the source flags exactly the
 * rows it read (same snapshot, still locked) and commits; then the chunk becomes "copied".
 * A crash between the two commits leaves "loaded": the retry copies again (an upsert, so no
 * duplicate) and counts only rows beyond those already counted.
 */
export async function copyChunkStreamed(
  src: Client,
  tgt: Client,
  spec: MigrationSpec,
  shape: MigrationShape,
  chunk: Chunk,
  logId: number,
  runKey: string,
): Promise<ChunkCopy> {
  const t = stateTables(spec.stateSchema);
  const ctx = Context.current();
  await src.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  try {
    let previouslyLoaded = 0;
    const loaded = await inTransaction<{ already: ChunkRow } | { rows: number }>(tgt, async () => {
      const row = await lockChunk(tgt, spec, chunk.no);
      if (row.status === 'copied') return { already: row };
      if (row.status === 'loaded') previouslyLoaded = Number(row.rows_copied);
      if (spec.flag) {
        const p = new Params();
        await src.query(
          `SELECT 1 FROM ${quoteTable(spec.source.table)} s WHERE ${rangeSql(sourceKey(spec), chunk, shape.keyType, p)} AND ${copyPredicate(spec)} FOR UPDATE OF s`,
          p.values,
        );
      }
      const staging = quoteIdent(`opsflow_stage_${randomBytes(6).toString('hex')}`);
      const cols = shape.columns.map((c) => quoteIdent(c.target)).join(', ');
      await tgt.query(`CREATE TEMP TABLE ${staging} ON COMMIT DROP AS SELECT ${cols} FROM ${quoteTable(spec.target.table)} WITH NO DATA`);
      let bytes = 0;
      const progress = new Transform({
        transform(buf: Buffer, _enc, cb) {
          bytes += buf.length;
          ctx.heartbeat({ chunk: chunk.no, bytes });
          cb(null, buf);
        },
      });
      await pipeline(src.query(copyTo(copyOutSql(spec, shape, chunk))), progress, tgt.query(copyFrom(`COPY ${staging} (${cols}) FROM STDIN`)));
      const up = await tgt.query(upsertFromStagingSql(spec, shape, staging));
      const rows = Math.max(up.rowCount ?? 0, previouslyLoaded);
      await tgt.query(
        `UPDATE ${t.chunks} SET status = $3, rows_copied = $4, copied_by = $5, attempts = attempts + 1, copied_at = now()
          WHERE migration_name = $1 AND chunk_no = $2`,
        [spec.name, chunk.no, spec.flag ? 'loaded' : 'copied', rows, runKey],
      );
      await tgt.query(`UPDATE ${t.log} SET rows_migrated = rows_migrated + $2 WHERE id = $1`, [logId, rows - previouslyLoaded]);
      return { rows };
    });
    if ('already' in loaded) {
      await src.query('ROLLBACK');
      return done(chunk, loaded.already, runKey);
    }
    if (spec.flag) {
      const p = new Params();
      await src.query(
        `UPDATE ${quoteTable(spec.source.table)} s SET ${quoteIdent(spec.flag.column)} = ${p.add(String(spec.flag.value), shape.flagType)}
          WHERE ${rangeSql(sourceKey(spec), chunk, shape.keyType, p)} AND ${copyPredicate(spec)}`,
        p.values,
      );
    }
    await src.query('COMMIT');
    if (spec.flag) {
      await tgt.query(`UPDATE ${t.chunks} SET status = 'copied' WHERE migration_name = $1 AND chunk_no = $2 AND status = 'loaded'`, [spec.name, chunk.no]);
    }
    return { chunkNo: chunk.no, rows: loaded.rows, countedByThisRun: true, finishedAtMs: Date.now() };
  } catch (err) {
    await src.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

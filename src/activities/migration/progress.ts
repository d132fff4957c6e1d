import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import type { Client } from 'pg';
import type { MigrationSpec } from '../../domain/migration/input';
import { chunksFromBoundaries, type Chunk } from '../../domain/migration/plan';
import { copyPredicate, Params, quoteTable, sourceKey, verifyPredicate, type MigrationShape } from './sql';
import { ensureStateTables, stateTables } from './state-tables';
import { inTransaction, oneStatement } from './session';

/** How a run ended, as the workflow says it; a verify-only run that passes is logged as `VERIFIED`. */
export type LogStatus = 'COMPLETED' | 'FAILED' | 'CANCELLED';

/**
 * The status written to `migration_log`. A passing verify-only run copied nothing: logged as
 * COMPLETED with rows_migrated = 0 it would read as an empty migration, and a query for the last
 * completed migration would find it. FAILED and CANCELLED say the same for both kinds of run.
 */
function loggedStatus(spec: MigrationSpec, status: LogStatus): LogStatus | 'VERIFIED' {
  return status === 'COMPLETED' && spec.mode === 'verify' ? 'VERIFIED' : status;
}

/**
 * Opens this run's `migration_log` row (RUNNING). Idempotent by read-back: the row id is recorded
 * under the run's key in the same transaction, so a retry returns the same row.
 */
export async function openLog(tgt: Client, spec: MigrationSpec, runKey: string): Promise<number> {
  const t = await ensureStateTables(tgt, spec.stateSchema);
  return inTransaction(tgt, async () => {
    await tgt.query('SELECT pg_advisory_xact_lock(hashtext($1))', [runKey]);
    const known = await tgt.query<{ log_id: number }>(`SELECT log_id FROM ${t.runs} WHERE run_key = $1`, [runKey]);
    if (known.rows[0]) return known.rows[0].log_id;
    const ins = await tgt.query<{ id: number }>(
      `INSERT INTO ${t.log} (migration_name, status, rows_migrated) VALUES ($1, 'RUNNING', 0) RETURNING id`,
      [spec.name],
    );
    await tgt.query(`INSERT INTO ${t.runs} (run_key, migration_name, log_id) VALUES ($1, $2, $3)`, [
      runKey,
      spec.name,
      ins.rows[0].id,
    ]);
    return ins.rows[0].id;
  });
}

/**
 * Sets a RUNNING log row's `rows_migrated` to the rows this run's chunks copied, as the progress
 * table records them (so a chunk retried after a crash is counted once). Idempotent: a recount.
 */
export async function recountLog(tgt: Client, spec: MigrationSpec, logId: number, runKey: string): Promise<void> {
  const t = stateTables(spec.stateSchema);
  await tgt.query(
    `UPDATE ${t.log} SET rows_migrated = (
        SELECT coalesce(sum(rows_copied), 0) FROM ${t.chunks}
         WHERE migration_name = $2 AND copied_by = $3 AND status IN ('loaded', 'copied'))
      WHERE id = $1 AND status = 'RUNNING'`,
    [logId, spec.name, runKey],
  );
}

/**
 * Closes a log row by its id (never by name: the runbook's `WHERE migration_name = migration_name`
 * updated every row). Only a RUNNING row changes, so a retry or a late duplicate is harmless.
 */
export async function closeLog(
  tgt: Client,
  spec: MigrationSpec,
  logId: number,
  runKey: string,
  status: LogStatus,
  error?: string,
): Promise<number> {
  const t = stateTables(spec.stateSchema);
  return inTransaction(tgt, async () => {
    await recountLog(tgt, spec, logId, runKey);
    await tgt.query(
      `UPDATE ${t.log} SET status = $2, end_time = now(), error_message = $3 WHERE id = $1 AND status = 'RUNNING'`,
      [logId, loggedStatus(spec, status), error ?? null],
    );
    const r = await tgt.query<{ rows_migrated: number }>(`SELECT rows_migrated FROM ${t.log} WHERE id = $1`, [logId]);
    return r.rows[0]?.rows_migrated ?? 0;
  });
}

function fingerprint(spec: MigrationSpec): string {
  const { source, target, key, columns, filter, flag, chunkSize } = spec;
  return createHash('sha256')
    .update(JSON.stringify({ source, target, key, columns, filter, flag, chunkSize }))
    .digest('hex')
    .slice(0, 32);
}

export interface PlanSummary {
  chunks: number;
  chunksDone: number;
  rowsPlanned: number;
  /** Rows copied by earlier runs of an unfinished plan that this run resumes. */
  rowsDoneBefore: number;
  resumed: boolean;
}

const wholeKeySpace: Chunk = { no: 0, lo: null, hi: null };

/**
 * The keys that end each chunk — every chunkSize-th key of the rows to migrate, and the last. A
 * recursive query hops along the key index (OFFSET chunkSize-1 from the previous boundary), which
 * costs a quarter of numbering every row with a window function; the last key and the rows after
 * the last boundary are two short index reads. No rows at all still make one chunk (see below).
 */
export async function chunkBoundaries(
  src: Client,
  spec: MigrationSpec,
  shape: MigrationShape,
  kind: 'copy' | 'verify',
): Promise<{ chunks: Chunk[]; rows: number }> {
  const p = new Params();
  const pred = kind === 'copy' ? copyPredicate(spec) : verifyPredicate(spec, shape, p);
  const key = sourceKey(spec);
  const table = `${quoteTable(spec.source.table)} s`;
  const skip = p.add(spec.chunkSize - 1, 'bigint');
  const hops = await oneStatement<{ k: string }>(
    src,
    `WITH RECURSIVE b(k) AS (
       (SELECT ${key} FROM ${table} WHERE ${pred} ORDER BY ${key} OFFSET ${skip} LIMIT 1)
       UNION ALL
       SELECT (SELECT ${key} FROM ${table} WHERE ${key} > b.k AND ${pred} ORDER BY ${key} OFFSET ${skip} LIMIT 1) FROM b WHERE b.k IS NOT NULL)
     SELECT k::text AS k FROM b WHERE k IS NOT NULL`,
    p.values,
  );
  const ends = hops.rows.map((r) => r.k);
  const q = new Params();
  const tailPred = kind === 'copy' ? copyPredicate(spec) : verifyPredicate(spec, shape, q);
  const after = ends.length ? `${key} > ${q.add(ends[ends.length - 1], shape.keyType)} AND ` : '';
  // ORDER BY … DESC LIMIT 1 rather than max(): not every key type has max() (uuid has none).
  const tail = await oneStatement<{ n: string; k: string | null }>(
    src,
    `SELECT (SELECT count(*) FROM ${table} WHERE ${after}${tailPred}) AS n,
            (SELECT ${key}::text FROM ${table} WHERE ${after}${tailPred} ORDER BY ${key} DESC LIMIT 1) AS k`,
    q.values,
  );
  if (tail.rows[0].k !== null) ends.push(tail.rows[0].k);
  // Nothing to migrate still leaves the whole key space to verify: one chunk open at both ends, so
  // that target rows are counted (and named as extra) even when the source has none to compare.
  const chunks = ends.length ? chunksFromBoundaries(ends) : [wholeKeySpace];
  return { chunks, rows: hops.rows.length * spec.chunkSize + Number(tail.rows[0].n) };
}

/**
 * Plans the chunks in the progress table, or resumes the unfinished plan of an earlier run with the
 * same input. Idempotent: a retry finds the plan this run made and reads it back.
 */
export async function planChunks(
  src: Client,
  tgt: Client,
  spec: MigrationSpec,
  shape: MigrationShape,
  runKey: string,
): Promise<PlanSummary> {
  const t = await ensureStateTables(tgt, spec.stateSchema);
  const kind = spec.mode === 'verify' ? 'verify' : 'copy';
  const fp = fingerprint(spec);
  return inTransaction(tgt, async () => {
    await tgt.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`opsflow.migration.plan.${spec.name}`]);
    const existing = await tgt.query<{
      kind: string;
      fingerprint: string;
      planned_by: string;
      chunk_count: number;
      planned_rows: string;
    }>(`SELECT kind, fingerprint, planned_by, chunk_count, planned_rows FROM ${t.plans} WHERE migration_name = $1`, [
      spec.name,
    ]);
    const progress = async () => {
      const r = await tgt.query<{ done: string; rows: string }>(
        `SELECT count(*) FILTER (WHERE status = 'copied') AS done, coalesce(sum(rows_copied) FILTER (WHERE status = 'copied'), 0) AS rows
           FROM ${t.chunks} WHERE migration_name = $1`,
        [spec.name],
      );
      return { done: Number(r.rows[0].done), rows: Number(r.rows[0].rows) };
    };
    const plan = existing.rows[0];
    if (plan) {
      const { done, rows } = await progress();
      const summary = (resumed: boolean): PlanSummary => ({
        chunks: plan.chunk_count,
        chunksDone: kind === 'copy' ? done : 0,
        rowsPlanned: Number(plan.planned_rows),
        rowsDoneBefore: resumed ? rows : 0,
        resumed,
      });
      const unfinished = plan.kind === 'copy' && done < plan.chunk_count;
      // A verification of a half-done copy reads wrong either way: the uncopied chunks' rows would
      // be reported missing, or, with a flag, not looked at (unflagged) and the run pass. Refused
      // before anything is written, so the copy stays resumable as it was.
      if (kind === 'verify' && unfinished) {
        throw ApplicationFailure.nonRetryable(
          `mode: migration "${spec.name}" has an unfinished copy plan (${done}/${plan.chunk_count} chunks copied, planned by ${plan.planned_by}); ` +
            `verifying it now would check a half-done copy. Resume the copy first: rerun with mode "copy" and the input it was planned with ` +
            `(it verifies every chunk once copied unless verify: false), then verify`,
          'PlanUnfinished',
        );
      }
      // A plan of no chunks (made before every plan had at least one) would verify nothing: replan it.
      if (kind === 'verify' && plan.chunk_count > 0) {
        // Verify what the last copy planned (or the last verify): every chunk afresh.
        await tgt.query(`UPDATE ${t.chunks} SET verify_status = NULL WHERE migration_name = $1`, [spec.name]);
        return summary(false);
      }
      if (plan.planned_by === runKey) return summary(false);
      if (unfinished && plan.fingerprint === fp) {
        // The resumed copy verifies every chunk afterwards (the verify phase takes the chunks
        // without a verdict): a verdict left on the plan (by a verify-only run before they were
        // refused) would make it skip chunks, and a mismatch it skipped would never be reported.
        await tgt.query(`UPDATE ${t.chunks} SET verify_status = NULL WHERE migration_name = $1`, [spec.name]);
        return summary(true);
      }
      if (unfinished) {
        throw ApplicationFailure.nonRetryable(
          `name: migration "${spec.name}" has an unfinished plan (${done}/${plan.chunk_count} chunks) made with a different input; ` +
            `rerun it with the same input to resume, or use another name`,
          'PlanConflict',
        );
      }
    }
    const { chunks, rows } = await chunkBoundaries(src, spec, shape, kind);
    await tgt.query(`DELETE FROM ${t.chunks} WHERE migration_name = $1`, [spec.name]);
    await tgt.query(
      `INSERT INTO ${t.plans} (migration_name, kind, fingerprint, chunk_count, planned_rows, planned_by)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (migration_name) DO UPDATE SET kind = EXCLUDED.kind, fingerprint = EXCLUDED.fingerprint,
         chunk_count = EXCLUDED.chunk_count, planned_rows = EXCLUDED.planned_rows, planned_by = EXCLUDED.planned_by, planned_at = now()`,
      [spec.name, kind, fp, chunks.length, rows, runKey],
    );
    await tgt.query(
      `INSERT INTO ${t.chunks} (migration_name, chunk_no, lo, hi) SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[])`,
      [spec.name, chunks.map((c) => c.no), chunks.map((c) => c.lo), chunks.map((c) => c.hi)],
    );
    return { chunks: chunks.length, chunksDone: 0, rowsPlanned: rows, rowsDoneBefore: 0, resumed: false };
  });
}

/** The next chunks (by number, after `afterNo`) that still need the given phase. */
export async function pendingChunks(
  tgt: Client,
  spec: MigrationSpec,
  phase: 'copy' | 'verify',
  afterNo: number,
  limit: number,
): Promise<Chunk[]> {
  const t = stateTables(spec.stateSchema);
  const cond = phase === 'copy' ? `status <> 'copied'` : 'verify_status IS NULL';
  const r = await tgt.query<{ chunk_no: number; lo: string | null; hi: string | null }>(
    `SELECT chunk_no, lo, hi FROM ${t.chunks} WHERE migration_name = $1 AND chunk_no > $2 AND ${cond} ORDER BY chunk_no LIMIT $3`,
    [spec.name, afterNo, limit],
  );
  return r.rows.map((x) => ({ no: x.chunk_no, lo: x.lo, hi: x.hi }));
}

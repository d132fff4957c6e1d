import type { Client } from 'pg';
import { quoteIdent } from './sql';

/**
 * Where a migration keeps its own state, in the target database's `stateSchema`:
 * - `migration_log` exactly as runbooks §2 (one row per run, RUNNING → COMPLETED / FAILED / CANCELLED);
 * - `opsflow_migration_runs`: which log row belongs to which workflow run, so a retried
 *   "open the log" reads its row back instead of inserting a second one;
 * - `opsflow_migration_plans` / `opsflow_migration_chunks`: the plan and per-chunk progress (the
 *   audit trail, and what a rerun resumes from).
 */
export function stateTables(schema: string) {
  const s = quoteIdent(schema);
  return {
    log: `${s}.migration_log`,
    runs: `${s}.opsflow_migration_runs`,
    plans: `${s}.opsflow_migration_plans`,
    chunks: `${s}.opsflow_migration_chunks`,
  };
}

export type StateTables = ReturnType<typeof stateTables>;

export async function ensureStateTables(c: Client, schema: string): Promise<StateTables> {
  const t = stateTables(schema);
  // Usually they exist: one catalog read instead of DDL under a lock.
  const present = await c.query<{ n: string }>('SELECT count(to_regclass(x)) AS n FROM unnest($1::text[]) AS x', [
    [t.log, t.runs, t.plans, t.chunks],
  ]);
  if (Number(present.rows[0].n) === 4) return t;
  await c.query('BEGIN');
  try {
    // Two first runs at once must not race on CREATE TABLE IF NOT EXISTS (pg_type unique violation).
    await c.query(`SELECT pg_advisory_xact_lock(hashtext('opsflow.migration.ddl'))`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${t.log} (
      id serial PRIMARY KEY,
      migration_name varchar(255) NOT NULL,
      start_time timestamp DEFAULT now(),
      end_time timestamp,
      status varchar(50),
      error_message text,
      rows_migrated int DEFAULT 0)`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${t.runs} (
      run_key text PRIMARY KEY,
      migration_name varchar(255) NOT NULL,
      log_id int NOT NULL,
      started_at timestamptz NOT NULL DEFAULT now())`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${t.plans} (
      migration_name varchar(255) PRIMARY KEY,
      kind text NOT NULL,
      fingerprint text NOT NULL,
      chunk_count int NOT NULL,
      planned_rows bigint NOT NULL,
      planned_at timestamptz NOT NULL DEFAULT now(),
      planned_by text NOT NULL)`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${t.chunks} (
      migration_name varchar(255) NOT NULL,
      chunk_no int NOT NULL,
      lo text,
      hi text,
      status text NOT NULL DEFAULT 'pending',
      rows_copied bigint NOT NULL DEFAULT 0,
      copied_by text,
      attempts int NOT NULL DEFAULT 0,
      copied_at timestamptz,
      verify_status text,
      source_rows bigint,
      target_rows bigint,
      source_checksum text,
      target_checksum text,
      mismatch jsonb,
      verified_at timestamptz,
      PRIMARY KEY (migration_name, chunk_no))`);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return t;
}

import type { Client, ClientConfig } from 'pg';
import { withClient } from '../systems/postgres/connect';
import type { IndexUse, PostgresFindings, Session, SlowStatement, TableSize } from '../../domain/diagnostics/findings';

// SQLSTATE object_not_in_prerequisite_state: the extension exists but its library is not preloaded.
const NOT_PRELOADED = '55000';

/**
 * Statements slower than 100 ms on average, or a sentence saying why they cannot be had: an empty
 * list would read as "nothing is slow" to the person looking at the incident.
 */
async function slowStatements(c: Client): Promise<SlowStatement[] | string> {
  const ext = await c.query(
    `SELECT current_database() AS db, EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS created`,
  );
  const { db, created } = ext.rows[0] as { db: string; created: boolean };
  if (!created)
    return `pg_stat_statements is not available: the extension is not created in database ${db} (CREATE EXTENSION pg_stat_statements)`;
  try {
    const slow = await c.query(
      `SELECT left(query, 200) AS query, calls::float AS calls, round(mean_exec_time::numeric, 1)::float AS mean_ms
         FROM pg_stat_statements WHERE mean_exec_time > 100 ORDER BY mean_exec_time DESC LIMIT 10`,
    );
    return slow.rows as SlowStatement[];
  } catch (err) {
    if ((err as { code?: string }).code === NOT_PRELOADED)
      return `pg_stat_statements is not available: ${(err as Error).message}`;
    throw err;
  }
}

// pg's bigint arrives as a string: sizes and counts are cast to float8 so they arrive as numbers.
const TABLES = `
  SELECT format('%I.%I', n.nspname, c.relname) AS table, greatest(c.reltuples, 0)::float8 AS rows,
         pg_table_size(c.oid)::float8 AS table_bytes, pg_indexes_size(c.oid)::float8 AS index_bytes,
         pg_total_relation_size(c.oid)::float8 AS total_bytes
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
   ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 20`;

const INDEXES = `
  SELECT format('%I.%I', s.schemaname, s.indexrelname) AS index, format('%I.%I', s.schemaname, s.relname) AS table,
         s.idx_scan::float8 AS scans, pg_relation_size(s.indexrelid)::float8 AS bytes, (i.indisunique OR i.indisprimary) AS enforces
    FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
   ORDER BY pg_relation_size(s.indexrelid) DESC LIMIT 200`;

const age = (column: string) => `round(extract(epoch FROM now() - ${column})::numeric, 1)::float8`;
const SESSIONS = `
  SELECT pid, usename AS user, datname AS database, state, wait_event_type, wait_event,
         ${age('backend_start')} AS session_seconds, ${age('xact_start')} AS transaction_seconds,
         ${age('query_start')} AS running_seconds, left(query, 200) AS query
    FROM pg_stat_activity
   WHERE state IS DISTINCT FROM 'idle' AND pid <> pg_backend_pid() AND backend_type = 'client backend'
   ORDER BY query_start NULLS LAST LIMIT 50`;

/** Fewer scans than this since the statistics were reset: the runbook's "unused" index. */
const UNUSED_INDEX_SCANS = 100;

/**
 * runbooks §9: non-idle sessions with their ages and wait events, slow statements
 * (pg_stat_statements, mean > 100 ms, top 10), the largest tables with their index sizes, and
 * indexes with fewer than 100 scans. The extension is optional: without it, that part says so
 * instead of failing. Unique and primary-key indexes are never "unused": they enforce a rule.
 */
export async function postgresDiagnostics(cfg: ClientConfig): Promise<PostgresFindings> {
  return withClient(cfg, async (c) => {
    const sessions = await c.query(SESSIONS);
    const tables = await c.query(TABLES);
    const indexes = (await c.query(INDEXES)).rows as (IndexUse & { enforces: boolean })[];
    const db = await c.query('SELECT current_database() AS db');
    return {
      database: db.rows[0].db as string,
      sessions: sessions.rows as Session[],
      slowStatements: await slowStatements(c),
      tables: tables.rows as TableSize[],
      indexes: indexes.map(({ enforces: _e, ...i }) => i),
      unusedIndexes: indexes
        .filter((i) => !i.enforces && i.scans < UNUSED_INDEX_SCANS)
        .map(({ enforces: _e, ...i }) => i),
    };
  });
}

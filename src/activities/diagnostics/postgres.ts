import type { ClientConfig } from 'pg';
import { withClient } from '../postgres/connect';

/**
 * SPEC §9: non-idle sessions and slow statements (pg_stat_statements, mean > 100 ms, top 10).
 * The extension is optional: without it, that part says so instead of failing.
 */
export async function postgresDiagnostics(cfg: ClientConfig) {
  return withClient(cfg, async (c) => {
    const sessions = await c.query(
      `SELECT pid, usename AS user, datname AS database, state, wait_event_type, wait_event,
              round(extract(epoch FROM now() - query_start)::numeric, 1)::float AS running_seconds, left(query, 200) AS query
         FROM pg_stat_activity
        WHERE state IS DISTINCT FROM 'idle' AND pid <> pg_backend_pid() AND backend_type = 'client backend'
        ORDER BY query_start NULLS LAST LIMIT 50`,
    );
    let slowStatements: unknown[] | string;
    const ext = await c.query(`SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'`);
    if (ext.rowCount) {
      const slow = await c.query(
        `SELECT left(query, 200) AS query, calls, round(mean_exec_time::numeric, 1)::float AS mean_ms
           FROM pg_stat_statements WHERE mean_exec_time > 100 ORDER BY mean_exec_time DESC LIMIT 10`,
      );
      slowStatements = slow.rows;
    } else slowStatements = 'pg_stat_statements is not installed';
    return { sessions: sessions.rows, slowStatements };
  });
}

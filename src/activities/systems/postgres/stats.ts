import type { ClientConfig } from 'pg';
import type { PostgresSample } from '../../../domain/baseline/samples';
import { withClient } from './connect';

/** Connections to the database, its size, and the cumulative buffer hit/read counters, in one query. */
export async function postgresStats(config: ClientConfig): Promise<PostgresSample> {
  return withClient(config, async (c) => {
    const r = await c.query<{ connections: string; size: string; hit: string; read: string }>(
      `SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()) AS connections,
              pg_database_size(current_database()) AS size, blks_hit AS hit, blks_read AS read
         FROM pg_stat_database WHERE datname = current_database()`,
    );
    const row = r.rows[0];
    return {
      connections: Number(row.connections),
      databaseSizeBytes: Number(row.size),
      blksHit: Number(row.hit),
      blksRead: Number(row.read),
    };
  });
}

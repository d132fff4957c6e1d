import type { ClientConfig } from 'pg';
import { withClient } from './connect';

/** `SELECT 1` within the connect timeout; whether the server is in recovery tells a replica. */
export async function pingPostgres(
  config: ClientConfig,
): Promise<{ ok: boolean; latencyMs: number; inRecovery?: boolean; error?: string }> {
  const started = performance.now();
  try {
    const inRecovery = await withClient(config, async (c) => {
      await c.query('SELECT 1');
      const r = await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
      return r.rows[0].r;
    });
    return { ok: true, latencyMs: Math.round(performance.now() - started), inRecovery };
  } catch (err) {
    return { ok: false, latencyMs: Math.round(performance.now() - started), error: (err as Error).message };
  }
}

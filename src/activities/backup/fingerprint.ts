import type { Client, ClientConfig } from 'pg';
import type { TableFingerprint } from '../../domain/backup/manifest';

const TABLES = `
  SELECT format('%I.%I', n.nspname, c.relname) AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
   ORDER BY 1`;

/**
 * Every user table's row count and checksum, in the client's current transaction (so, inside the
 * dump's snapshot, exactly what the dump holds). The checksum is a sum of per-row hashes: order
 * does not matter (a restore may return rows in another order) and, unlike XOR, two equal rows do
 * not cancel out.
 */
export async function tableFingerprints(c: Client): Promise<Record<string, TableFingerprint>> {
  const out: Record<string, TableFingerprint> = {};
  for (const { name } of (await c.query<{ name: string }>(TABLES)).rows) {
    const r = await c.query<{ rows: number; checksum: string }>(
      `SELECT count(*)::float8 AS rows, coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint::numeric), 0)::text AS checksum FROM ${name} t`,
    );
    out[name] = r.rows[0];
  }
  return out;
}

/** Arguments and environment that point libpq tools (pg_dump, pg_restore, psql) at a database. */
export function libpqArgs(
  cfg: ClientConfig,
  database: string,
  appName: string,
): { args: string[]; env: NodeJS.ProcessEnv } {
  return {
    args: ['-h', String(cfg.host), '-p', String(cfg.port), '-U', String(cfg.user), '-d', database, '--no-password'],
    env: {
      ...(typeof cfg.password === 'string' ? { PGPASSWORD: cfg.password } : {}),
      PGAPPNAME: appName,
      PGCONNECT_TIMEOUT: String(Math.ceil((cfg.connectionTimeoutMillis ?? 10_000) / 1000)),
    },
  };
}

import type { Client } from 'pg';
import type { PgScratch } from './pg-scratch';

/** A scratch database with one table of `rows` rows: a dump that takes a moment and a drill that counts them. */
export async function seedBackupDatabase(pg: PgScratch, rows: number): Promise<string> {
  const db = await pg.database();
  await pg.query(`CREATE TABLE big (id bigserial PRIMARY KEY, payload text)`, [], db);
  await pg.query(`INSERT INTO big (payload) SELECT md5(g::text) FROM generate_series(1, $1::int) g`, [rows], db);
  return db;
}

/**
 * Holds every dump of `db` (pg_dump's shared lock waits behind this one) until the returned
 * session commits or rolls back: the dump is surely in flight when the test acts, however fast
 * or slow the machine.
 */
export async function holdDumps(pg: PgScratch, db: string): Promise<Client> {
  const locker = await pg.client(db);
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE big IN ACCESS EXCLUSIVE MODE');
  return locker;
}

/** Whether the pg_dump writing `artifact` (e.g. `db-app.dump`) waits on that lock. */
export async function dumpWaiting(pg: PgScratch, artifact: string): Promise<boolean> {
  const waiting = await pg.query(
    `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
    [`opsflow-backup ${artifact}`],
  );
  return waiting.length > 0;
}

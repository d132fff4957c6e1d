import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { pgConnection } from './services';

/**
 * Scratch schemas and databases on the machine's PostgreSQL, with names no other test uses,
 * dropped by `drop()` (call it in afterAll: it also runs after a failed test).
 */
export class PgScratch {
  readonly schemas: string[] = [];
  readonly databases: string[] = [];
  private clients = new Map<string, Promise<Client>>();
  /** Names this helper's sessions in pg_stat_activity (a test can count them). */
  readonly applicationName: string;

  constructor(readonly prefix: string) {
    this.applicationName = this.uniqueName('app').slice(0, 63);
  }

  private uniqueName(kind: string): string {
    return `${this.prefix}_${kind}_${process.pid}_${randomBytes(3).toString('hex')}`.toLowerCase();
  }

  /**
   * A connected client to the test database (or a scratch database by name); closed by drop().
   * The first use stores its connecting promise, so uses racing it (before the connect finished)
   * share that one client instead of each opening one that drop() would not close.
   */
  client(database = pgConnection.database): Promise<Client> {
    let c = this.clients.get(database);
    if (!c) {
      const connecting = this.connect(database);
      // A failed connect is forgotten: the next use tries again.
      connecting.catch(() => {
        if (this.clients.get(database) === connecting) this.clients.delete(database);
      });
      this.clients.set(database, (c = connecting));
    }
    return c;
  }

  private async connect(database: string): Promise<Client> {
    const c = new Client({ ...pgConnection, database, application_name: this.applicationName });
    c.on('error', () => undefined);
    try {
      await c.connect();
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
    return c;
  }

  async schema(database = pgConnection.database): Promise<string> {
    const name = this.uniqueName('s');
    await (await this.client(database)).query(`CREATE SCHEMA ${name}`);
    this.schemas.push(`${database}\u0000${name}`);
    return name;
  }

  async database(): Promise<string> {
    const name = this.uniqueName('db');
    await (await this.client()).query(`CREATE DATABASE ${name}`);
    this.databases.push(name);
    return name;
  }

  async query<T extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
    database = pgConnection.database,
  ): Promise<T[]> {
    return (await (await this.client(database)).query<T>(sql, params)).rows;
  }

  /** The number a `count(*)` query returns. */
  async count(sql: string, params: unknown[] = [], database = pgConnection.database): Promise<number> {
    const rows = await this.query<{ n: string }>(sql, params, database);
    return Number(Object.values(rows[0])[0]);
  }

  async drop(): Promise<void> {
    for (const entry of this.schemas.reverse()) {
      const [db, name] = entry.split('\u0000');
      if (this.databases.includes(db)) continue;
      await (await this.client(db)).query(`DROP SCHEMA IF EXISTS ${name} CASCADE`).catch(() => undefined);
    }
    const end = (c: Promise<Client> | undefined) => c?.then((x) => x.end()).catch(() => undefined);
    for (const [db, c] of this.clients) if (db !== pgConnection.database) await end(c);
    for (const db of this.databases) {
      await (await this.client()).query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
    }
    await end(this.clients.get(pgConnection.database));
    this.clients.clear();
  }
}

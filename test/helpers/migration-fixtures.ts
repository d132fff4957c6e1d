import type { PgScratch } from './pg-scratch';
import { pgConnection } from './services';
import { runbookExample, type DataMigrationInput } from '../../src/domain/migration/input';

/**
 * The runbook's tables (runbooks §2) in a scratch schema, seeded with `rows` users: NULLs in every
 * nullable column, unicode, strings up to 10 000 characters, and every 200th row marked
 * migrate_flag = 2 (not to be migrated: the filter must leave it alone).
 */
export async function seedRunbookTables(pg: PgScratch, schema: string, rows: number): Promise<void> {
  await seedOldUsers(pg, schema, rows);
  await createNewUsers(pg, schema);
}

/** old_users alone (the source of a two-database migration). */
export async function seedOldUsers(
  pg: PgScratch,
  schema: string,
  rows: number,
  database = pgConnection.database,
): Promise<void> {
  await pg.query(
    `CREATE TABLE ${schema}.old_users (
       id bigint PRIMARY KEY, login_name text NOT NULL, email_address varchar(255), phone_number varchar(32),
       create_time timestamp NOT NULL, modify_time timestamp, user_status smallint, migrate_flag int NOT NULL DEFAULT 0)`,
    [],
    database,
  );
  await pg.query(
    `INSERT INTO ${schema}.old_users
     SELECT g,
            CASE WHEN g % 97 = 0 THEN repeat('長い名前-' || g, 1 + (g % 7) * 150)
                 WHEN g % 7 = 0 THEN 'ユーザー_' || g || ' Ünïcödé 🚀'
                 ELSE 'user_' || g END,
            CASE WHEN g % 10 = 0 THEN NULL ELSE 'user' || g || '@example.com' END,
            CASE WHEN g % 3 = 0 THEN NULL ELSE '+81-90-' || lpad(g::text, 8, '0') END,
            timestamp '2020-01-01' + g * interval '37 seconds',
            CASE WHEN g % 5 = 0 THEN NULL ELSE timestamp '2021-06-01 12:00:00.123456' + g * interval '1 minute' END,
            CASE WHEN g % 11 = 0 THEN NULL ELSE (g % 4)::smallint END,
            CASE WHEN g % 200 = 0 THEN 2 ELSE 0 END
       FROM generate_series(1, $1::int) g`,
    [rows],
    database,
  );
  await pg.query(`ANALYZE ${schema}.old_users`, [], database);
}

export async function createNewUsers(pg: PgScratch, schema: string, database = pgConnection.database): Promise<void> {
  await pg.query(
    `CREATE TABLE ${schema}.new_users (
       user_id bigint PRIMARY KEY, username text NOT NULL, email varchar(255), phone varchar(32),
       created_at timestamptz, updated_at timestamptz, status smallint)`,
    [],
    database,
  );
}

/** Rows the runbook's filter selects out of `rows` seeded ones. */
export const migratable = (rows: number) => rows - Math.floor(rows / 200);

/** The runbook's migration on scratch tables; `app` (and `other`) are the databases of testConfig. */
export function runbookInput(
  name: string,
  schema: string,
  patch: Partial<DataMigrationInput> = {},
): DataMigrationInput {
  return {
    ...runbookExample,
    name,
    source: { database: 'app', table: `${schema}.old_users` },
    target: { database: 'app', table: `${schema}.new_users` },
    stateSchema: schema,
    ...patch,
  };
}

export function migrationConfig(extra: Record<string, string> = {}) {
  const db = (database: string) => ({
    host: pgConnection.host,
    port: pgConnection.port,
    user: pgConnection.user,
    database,
  });
  return {
    postgres: {
      app: db(pgConnection.database),
      ...Object.fromEntries(Object.entries(extra).map(([name, database]) => [name, db(database)])),
    },
  };
}

/**
 * Makes every statement that writes new_users take at least `seconds` (a statement trigger), so a
 * test can act while a copy is surely in progress, on a fast machine as on a slow one.
 */
export async function slowDownTarget(
  pg: PgScratch,
  schema: string,
  seconds: number,
  database = pgConnection.database,
): Promise<void> {
  await pg.query(
    `CREATE FUNCTION ${schema}.slow_statement() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN PERFORM pg_sleep(${Number(seconds)}); RETURN NULL; END $$`,
    [],
    database,
  );
  await pg.query(
    `CREATE TRIGGER slow_statement AFTER INSERT ON ${schema}.new_users FOR EACH STATEMENT EXECUTE FUNCTION ${schema}.slow_statement()`,
    [],
    database,
  );
}

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { requirePostgres } from '../helpers/services';
import { testToken } from '../helpers/tokens';
import { root } from '../helpers/deploy-checks';

/**
 * deploy/compose/postgres-init/10-databases.sh, the PostgreSQL service's first-start script, run
 * with psql against the real PostgreSQL here (as the postgres image runs it: POSTGRES_USER, local
 * socket replaced by PGHOST), under scratch names so it leaves nothing behind.
 */
const script = join(root, 'deploy/compose/postgres-init/10-databases.sh');
const run = (env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> =>
  new Promise((done) =>
    execFile(
      'sh',
      [script],
      {
        env: { PATH: process.env.PATH, PGHOST: '127.0.0.1', PGPORT: '5432', POSTGRES_USER: 'postgres', ...env },
        timeout: 30_000,
      },
      (err, _o, stderr) => done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr }),
    ),
  );

describe('compose PostgreSQL init script', () => {
  const id = randomBytes(4).toString('hex');
  const names = {
    role: `opsflow_${id}`,
    db: `opsflow_${id}`,
    temporal: [`temporal_${id}`, `temporal_visibility_${id}`],
  };
  const admin = new Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });

  beforeAll(async () => {
    await requirePostgres();
    await admin.connect();
  });
  afterAll(async () => {
    for (const db of [names.db, ...names.temporal]) await admin.query(`DROP DATABASE IF EXISTS "${db}"`);
    await admin.query(`DROP ROLE IF EXISTS "${names.role}"`);
    await admin.end();
  });

  test('without the opsflow password it stops and names the variable, creating nothing', async () => {
    const r = await run({
      OPSFLOW_DB_USER: names.role,
      OPSFLOW_DB_NAME: names.db,
      TEMPORAL_DBS: names.temporal.join(' '),
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('OPSFLOW_DB_PASSWORD');
    expect(
      (await admin.query('SELECT 1 FROM pg_database WHERE datname = ANY($1)', [[names.db, ...names.temporal]]))
        .rowCount,
    ).toBe(0);
  });

  test("makes Temporal's databases and opsflow's role (login, CREATEDB for the restore drill, the password) owning its database", async () => {
    const password = testToken('opsflow-db');
    const r = await run({
      OPSFLOW_DB_PASSWORD: password,
      OPSFLOW_DB_USER: names.role,
      OPSFLOW_DB_NAME: names.db,
      TEMPORAL_DBS: names.temporal.join(' '),
    });
    expect(r).toMatchObject({ code: 0 });
    const dbs = await admin.query<{ datname: string; owner: string; public_connect: boolean }>(
      `SELECT datname, pg_get_userbyid(datdba) AS owner, has_database_privilege('public', datname, 'CONNECT') AS public_connect
         FROM pg_database WHERE datname = ANY($1) ORDER BY datname`,
      [[names.db, ...names.temporal]],
    );
    expect(dbs.rows).toEqual(
      expect.arrayContaining([
        { datname: names.db, owner: names.role, public_connect: false },
        ...names.temporal.map((d) => ({ datname: d, owner: 'postgres', public_connect: true })),
      ]),
    );
    const role = await admin.query(
      `SELECT rolcanlogin, rolcreatedb, rolsuper, rolpassword IS NOT NULL AS has_password FROM pg_authid WHERE rolname = $1`,
      [names.role],
    );
    expect(role.rows).toEqual([{ rolcanlogin: true, rolcreatedb: true, rolsuper: false, has_password: true }]);
    // The role can work in its database: what opsflow's stores do first.
    const asOpsflow = new Client({ host: '127.0.0.1', port: 5432, user: names.role, password, database: names.db });
    await asOpsflow.connect();
    await asOpsflow.query('CREATE SCHEMA opsflow; CREATE TABLE opsflow.t (id int)');
    await asOpsflow.end();
  });
});

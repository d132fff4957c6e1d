import { Stack, waitFor, writeConfig, killWorker } from '../helpers/stack';
import { requirePostgres } from '../helpers/services';
import { PgScratch } from '../helpers/pg-scratch';
import {
  createNewUsers,
  migratable,
  migrationConfig,
  runbookInput,
  seedOldUsers,
  slowDownTarget,
} from '../helpers/migration-fixtures';
import type { MigrationResult } from '../../src/workflows/migration/workflow';
import { pauseSignal, resumeSignal, statusQuery } from '../../src/workflows/migration/messages';
import { recordHistory } from '../helpers/histories';

/**
 * The worker process is SIGKILLed in the middle of a copy and started again, and then the Temporal
 * server is killed -9 and restarted on its SQLite file while the new worker copies: the same run
 * finishes, and every row is copied, flagged and counted exactly once — in one database (one
 * transaction per chunk) and across two (COPY, with the "loaded" state between the commits). And the
 * target database refusing connections for a burst mid-copy (its new connections refused, the
 * worker's sessions terminated): the chunks fail and are retried, and every row is copied once.
 * And killed between chunks: paused mid-copy, the chunks in flight finished, nothing pending, the
 * worker killed there and the resume sent while none runs.
 */
describe('dataMigrationWorkflow survives a SIGKILLed worker', () => {
  let stack: Stack;
  const pg = new PgScratch('mig_crash');
  let otherDb: string;
  let configPath: string;
  const env: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    await requirePostgres();
    otherDb = await pg.database();
    stack = await Stack.start({ persistent: true });
    configPath = writeConfig(migrationConfig({ other: otherDb }));
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await pg.drop();
  }, 60_000);

  test.each([
    ['one database', false],
    ['two databases (COPY)', true],
  ])(
    '%s: worker killed mid-copy, server killed mid-copy, both restarted, every row exactly once',
    async (_label, twoDb) => {
      const schema = await pg.schema();
      const targetDb = twoDb ? otherDb : undefined;
      const targetSchema = twoDb ? await pg.schema(otherDb) : schema;
      await seedOldUsers(pg, schema, 60_000);
      await createNewUsers(pg, targetSchema, targetDb);
      await slowDownTarget(pg, targetSchema, 0.25, targetDb);
      const expected = migratable(60_000);
      const input = runbookInput(twoDb ? 'crash-two' : 'crash-one', schema, {
        chunkSize: 1_000,
        parallelism: 2,
        ...(twoDb
          ? { target: { database: 'other', table: `${targetSchema}.new_users` }, stateSchema: targetSchema }
          : {}),
      });
      const copied = () =>
        pg.count(`SELECT count(*) FROM ${targetSchema}.opsflow_migration_chunks WHERE status = 'copied'`, [], targetDb);

      const first = stack.spawnWorkerProcess(configPath, env);
      const handle = await stack.client.workflow.start('dataMigrationWorkflow', {
        taskQueue: 'opsflow',
        workflowId: `crash-${input.name}-${Date.now()}`,
        args: [input],
      });
      await waitFor(
        '10 chunks copied',
        async () => ((await copied().catch(() => 0)) >= 10 ? true : undefined),
        90_000,
        200,
      );
      await killWorker(first.child);
      const atKill = await copied();
      expect(atKill).toBeLessThan(60);

      const second = stack.spawnWorkerProcess(configPath, env);
      // Temporal dies with chunks in flight on the live worker: their results and heartbeats go
      // nowhere until it is back; a chunk retried after that is not copied twice.
      await waitFor(
        'the new worker copying',
        async () => ((await copied()) >= atKill + 3 ? true : undefined),
        120_000,
        200,
      );
      await stack.restartServer();
      expect(second.child.exitCode).toBeNull();
      const result = (await handle.result()) as MigrationResult;
      await killWorker(second.child);

      expect(result.rowsCopied).toBe(expected);
      expect(result.verification).toMatchObject({ pass: true, sourceRows: expected, targetRows: expected });
      expect(await pg.count(`SELECT count(*) FROM ${targetSchema}.new_users`, [], targetDb)).toBe(expected);
      expect(await pg.count(`SELECT count(DISTINCT user_id) FROM ${targetSchema}.new_users`, [], targetDb)).toBe(
        expected,
      );
      expect(await pg.count(`SELECT count(*) FROM ${schema}.old_users WHERE migrate_flag = 1`)).toBe(expected);
      const log = await pg.query<{ status: string; rows_migrated: number }>(
        `SELECT status, rows_migrated FROM ${targetSchema}.migration_log`,
        [],
        targetDb,
      );
      expect(log).toEqual([{ status: 'COMPLETED', rows_migrated: expected }]);
      expect(await copied()).toBe(60);
    },
    300_000,
  ); // two worker starts and a heartbeat timeout: generous on a slow, loaded machine

  test('the target database refuses connections for a burst mid-copy (sessions terminated, new ones refused): the chunks retried, the run completes, every row exactly once', async () => {
    const rows = 30_000;
    const schema = await pg.schema();
    const targetSchema = await pg.schema(otherDb);
    await seedOldUsers(pg, schema, rows);
    await createNewUsers(pg, targetSchema, otherDb);
    await slowDownTarget(pg, targetSchema, 0.25, otherDb);
    const expected = migratable(rows);
    const input = runbookInput('burst', schema, {
      chunkSize: 1_000,
      parallelism: 2,
      target: { database: 'other', table: `${targetSchema}.new_users` },
      stateSchema: targetSchema,
    });
    const copied = () =>
      pg.count(`SELECT count(*) FROM ${targetSchema}.opsflow_migration_chunks WHERE status = 'copied'`, [], otherDb);
    const worker = stack.spawnWorkerProcess(configPath, env);
    const handle = await stack.client.workflow.start('dataMigrationWorkflow', {
      taskQueue: 'opsflow',
      workflowId: `crash-${input.name}-${Date.now()}`,
      args: [input],
    });
    await waitFor(
      '5 chunks copied',
      async () => ((await copied().catch(() => 0)) >= 5 ? true : undefined),
      90_000,
      200,
    );
    // The burst: no new connection to the target database (not even a superuser's), and the
    // worker's own sessions (opsflow, opsflow-migration) ended, from the test database's side; the
    // test's own session stays.
    const terminate = () =>
      pg.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'opsflow%'`,
        [otherDb],
      );
    await pg.query(`ALTER DATABASE ${otherDb} ALLOW_CONNECTIONS false`);
    try {
      await terminate();
      // Held until a chunk has failed against it at least twice (however slow the machine).
      const failing = await waitFor(
        'a chunk retried against the refusing database',
        async () => {
          await terminate();
          const pending = (await handle.describe()).raw.pendingActivities ?? [];
          return pending.find((a) => (a.attempt ?? 0) >= 3);
        },
        120_000,
        200,
      );
      expect(await stack.failureMessage(failing.lastFailure)).toMatch(/not currently accepting connections|terminat/);
      // mid-copy: chunks left (read through the test's own session, which the burst spares)
      expect(await copied()).toBeLessThan(rows / 1_000);
    } finally {
      await pg.query(`ALTER DATABASE ${otherDb} ALLOW_CONNECTIONS true`);
    }
    const result = (await handle.result()) as MigrationResult;
    await killWorker(worker.child);

    expect(result.rowsCopied).toBe(expected);
    expect(result.verification).toMatchObject({ pass: true, sourceRows: expected, targetRows: expected });
    expect(await pg.count(`SELECT count(*) FROM ${targetSchema}.new_users`, [], otherDb)).toBe(expected);
    expect(await pg.count(`SELECT count(DISTINCT user_id) FROM ${targetSchema}.new_users`, [], otherDb)).toBe(expected);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.old_users WHERE migrate_flag = 1`)).toBe(expected);
    const log = await pg.query<{ status: string; rows_migrated: number }>(
      `SELECT status, rows_migrated FROM ${targetSchema}.migration_log`,
      [],
      otherDb,
    );
    expect(log).toEqual([{ status: 'COMPLETED', rows_migrated: expected }]);
    expect(await copied()).toBe(rows / 1_000);
  }, 300_000);

  test('killed between chunks (paused mid-copy, nothing in flight), the resume sent while no worker runs: every row exactly once', async () => {
    const rows = 20_000;
    const schema = await pg.schema();
    await seedOldUsers(pg, schema, rows);
    await createNewUsers(pg, schema);
    await slowDownTarget(pg, schema, 0.25);
    const expected = migratable(rows);
    const input = runbookInput('between', schema, { chunkSize: 1_000, parallelism: 2 });
    const copiedInTable = () =>
      pg.count(`SELECT count(*) FROM ${schema}.opsflow_migration_chunks WHERE status = 'copied'`);
    let worker = stack.spawnWorkerProcess(configPath, env);
    const handle = await stack.client.workflow.start('dataMigrationWorkflow', {
      taskQueue: 'opsflow',
      workflowId: `crash-${input.name}-${Date.now()}`,
      args: [input],
    });
    const status = () => handle.query(statusQuery);
    await waitFor('4 chunks copied', async () => ((await copiedInTable()) >= 4 ? true : undefined), 90_000, 100);
    await handle.signal(pauseSignal, { by: 'night-shift' });
    // The chunks in flight finish, then nothing is pending: between two chunks, for sure.
    const idle = (d: Awaited<ReturnType<typeof handle.describe>>) =>
      (d.raw.pendingActivities ?? []).length === 0 && !d.raw.pendingWorkflowTask;
    const settled = await waitFor(
      'the paused copy settled',
      async () => {
        const s = await status();
        const d = await handle.describe();
        return s.paused && idle(d) && (await copiedInTable()) === s.chunks.copied ? s : undefined;
      },
      60_000,
      100,
    );
    await killWorker(worker.child);
    expect(settled.chunks.copied).toBeLessThan(rows / 1_000);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.new_users`)).toBe(settled.rows.copied);
    await handle.signal(resumeSignal, { by: 'night-shift' });

    worker = stack.spawnWorkerProcess(configPath, env);
    const result = (await handle.result()) as MigrationResult;
    await killWorker(worker.child);
    expect(result.rowsCopied).toBe(expected);
    expect(result.verification).toMatchObject({ pass: true, sourceRows: expected, targetRows: expected });
    expect(await pg.count(`SELECT count(*) FROM ${schema}.new_users`)).toBe(expected);
    expect(await pg.count(`SELECT count(DISTINCT user_id) FROM ${schema}.new_users`)).toBe(expected);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.old_users WHERE migrate_flag = 1`)).toBe(expected);
    expect(await copiedInTable()).toBe(rows / 1_000);
    const log = await pg.query<{ status: string; rows_migrated: number }>(
      `SELECT status, rows_migrated FROM ${schema}.migration_log`,
    );
    expect(log).toEqual([{ status: 'COMPLETED', rows_migrated: expected }]);
    // no chunk started again: each copy activity scheduled once ran once (the kill found none in flight)
    const history = (await handle.fetchHistory()).events ?? [];
    expect(history.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1)).toEqual([]);
    recordHistory(stack.temporalAddress(), handle.workflowId, 'data-migration-paused-worker-killed');
  }, 300_000);
});

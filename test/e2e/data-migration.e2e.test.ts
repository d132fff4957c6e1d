import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { Stack, waitFor } from '../helpers/stack';
import { requirePostgres } from '../helpers/services';
import { freePort } from '../helpers/ports';
import { PgScratch } from '../helpers/pg-scratch';
import { recordHistory } from '../helpers/histories';
import {
  createNewUsers,
  migratable,
  migrationConfig,
  runbookInput,
  seedOldUsers,
  seedRunbookTables,
  slowDownTarget,
} from '../helpers/migration-fixtures';
import type { DataMigrationInput } from '../../src/domain/migration/input';
import type { MigrationResult } from '../../src/workflows/migration/workflow';
import { OpsflowMigration, OpsflowPhase } from '../../src/domain/search-attributes';
import { pauseSignal, resumeSignal, statusQuery } from '../../src/workflows/migration/messages';

/**
 * dataMigrationWorkflow end to end: the Temporal dev server, an opsflow worker in this process, and
 * the machine's PostgreSQL. Every assertion reads the real tables afterwards.
 */
// Room for a slow, loaded machine: the longest test waits on chunks that sleep on purpose.
jest.setTimeout(240_000);

describe('dataMigrationWorkflow on real PostgreSQL', () => {
  let stack: Stack;
  const pg = new PgScratch('mig_e2e');
  let otherDb: string;
  let deadPort: number;

  beforeAll(async () => {
    await requirePostgres();
    otherDb = await pg.database();
    deadPort = await freePort();
    stack = await Stack.start();
    const config = migrationConfig({ other: otherDb });
    // A database nobody listens for: its connections are refused.
    await stack.startWorker({
      ...config,
      postgres: { ...config.postgres, deaddb: { host: '127.0.0.1', port: deadPort, database: 'app' } },
    });
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await pg.drop();
  }, 60_000);

  const start = (input: DataMigrationInput, id = `mig-${input.name}-${Date.now()}`) =>
    stack.client.workflow.start('dataMigrationWorkflow', { taskQueue: 'opsflow', workflowId: id, args: [input] });
  const run = async (input: DataMigrationInput) => (await start(input)).result() as Promise<MigrationResult>;
  const failure = async (input: DataMigrationInput) => {
    const err = await run(input).then(
      () => undefined,
      (e) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    return err.cause as ApplicationFailure;
  };
  const log = (schema: string) =>
    pg.query<{
      id: number;
      migration_name: string;
      status: string;
      rows_migrated: number;
      error_message: string | null;
      end_time: Date | null;
    }>(`SELECT * FROM ${schema}.migration_log ORDER BY id`);

  /**
   * The two-database copy checked independently of the workflow: both tables read with plain SQL in
   * key order, batch by batch, and every flagged source row's mapped values (the mapping of the
   * two-database test, applied here in TypeScript) compared with its target row, column by column.
   */
  async function compareAcrossDatabases(
    schema: string,
    targetSchema: string,
  ): Promise<{ compared: number; differences: string[] }> {
    type Row = [string, string, string | null, string | null, string | null, string | null, number];
    const differences: string[] = [];
    let compared = 0;
    let after = '0';
    const batch = 20_000;
    for (let more = true; more;) {
      const source = await pg.query<{
        id: string;
        login_name: string;
        email_address: string | null;
        phone_number: string | null;
        create_time: string;
        modify_time: string | null;
        user_status: number | null;
      }>(
        `SELECT id::text AS id, login_name, email_address, phone_number, create_time::text AS create_time, modify_time::text AS modify_time, user_status
           FROM ${schema}.old_users o WHERE migrate_flag = 1 AND o.id > $1::bigint ORDER BY o.id LIMIT ${batch}`,
        [after],
      );
      more = source.length === batch;
      // The target rows of the same key range; after the last batch, every key above it too. (Keys
      // are ordered by the table's column, not by the text alias of the same name.)
      const upTo = more ? 'AND n.user_id <= $2::bigint' : '';
      const target = await pg.query<{
        user_id: string;
        username: string;
        email: string | null;
        phone: string | null;
        created_at: string | null;
        updated_at: string | null;
        status: number | null;
      }>(
        `SELECT user_id::text AS user_id, username, email, phone, (created_at AT TIME ZONE 'UTC')::text AS created_at,
                (updated_at AT TIME ZONE 'UTC')::text AS updated_at, status
           FROM ${targetSchema}.new_users n WHERE n.user_id > $1::bigint ${upTo} ORDER BY n.user_id`,
        more ? [after, source[source.length - 1].id] : [after],
        otherDb,
      );
      const want = new Map<string, Row>(
        source.map((o) => [
          o.id,
          [
            o.id,
            o.login_name,
            o.email_address?.toLowerCase() ?? null,
            o.phone_number,
            o.create_time,
            o.modify_time,
            o.user_status ?? -1,
          ],
        ]),
      );
      for (const n of target) {
        const got: Row = [n.user_id, n.username, n.email, n.phone, n.created_at, n.updated_at, n.status as number];
        const expected = want.get(n.user_id);
        if (!expected) differences.push(`extra ${n.user_id}`);
        else if (JSON.stringify(got) !== JSON.stringify(expected))
          differences.push(`${n.user_id}: ${JSON.stringify(got)} ≠ ${JSON.stringify(expected)}`);
        else compared++;
        want.delete(n.user_id);
      }
      for (const id of want.keys()) differences.push(`missing ${id}`);
      if (source.length) after = source[source.length - 1].id;
    }
    return { compared, differences: differences.slice(0, 20) };
  }

  test('runbook migration of 200 000 rows: copied once, flagged in the same transaction, verified, logged COMPLETED', async () => {
    const schema = await pg.schema();
    await seedRunbookTables(pg, schema, 200_000);
    const expected = migratable(200_000);
    const handle = await start(runbookInput('runbook', schema));
    const result = (await handle.result()) as MigrationResult;
    // data-migration-runbook-200k.json was recorded before copy segments and stays as it was.
    recordHistory(stack.temporalAddress(), handle.workflowId, 'data-migration-copy-segments');

    expect(result.rowsCopied).toBe(expected);
    expect(result.chunks).toBe(20);
    expect(result.verification).toMatchObject({
      pass: true,
      sourceRows: expected,
      targetRows: expected,
      chunksVerified: 20,
    });
    expect(await pg.count(`SELECT count(*) FROM ${schema}.new_users`)).toBe(expected);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.old_users WHERE migrate_flag = 1`)).toBe(expected);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.old_users WHERE migrate_flag = 2`)).toBe(1000);
    // The runbook's anti-join, and a full value comparison including NULLs, unicode and long strings.
    expect(
      await pg.count(
        `SELECT count(*) FROM ${schema}.old_users o WHERE migrate_flag = 1 AND NOT EXISTS (SELECT 1 FROM ${schema}.new_users n WHERE n.user_id = o.id)`,
      ),
    ).toBe(0);
    expect(
      await pg.count(
        `SELECT count(*) FROM ${schema}.old_users o JOIN ${schema}.new_users n ON n.user_id = o.id
          WHERE (o.login_name, o.email_address, o.phone_number, o.create_time, o.modify_time, o.user_status)
                IS DISTINCT FROM (n.username, n.email, n.phone, n.created_at AT TIME ZONE 'UTC', n.updated_at AT TIME ZONE 'UTC', n.status)`,
      ),
    ).toBe(0);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.new_users WHERE email IS NULL`)).toBe(19_000);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.new_users WHERE length(username) > 5000`)).toBeGreaterThan(0);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.new_users WHERE username LIKE '%🚀'`)).toBeGreaterThan(0);

    const [entry] = await log(schema);
    expect(entry).toMatchObject({
      migration_name: 'runbook',
      status: 'COMPLETED',
      rows_migrated: expected,
      error_message: null,
    });
    expect(entry.end_time).not.toBeNull();
    const chunks = await pg.query<{
      status: string;
      verify_status: string;
      source_checksum: string;
      target_checksum: string;
    }>(`SELECT status, verify_status, source_checksum, target_checksum FROM ${schema}.opsflow_migration_chunks`);
    expect(chunks).toHaveLength(20);
    expect(
      chunks.every(
        (c) => c.status === 'copied' && c.verify_status === 'match' && c.source_checksum === c.target_checksum,
      ),
    ).toBe(true);

    const status = await handle.query(statusQuery);
    expect(status).toMatchObject({ phase: 'completed', chunks: { total: 20, copied: 20, verified: 20 } });
    // 40 chunk activities and a handful of steps: a few events per chunk, nothing per row.
    const events = (await handle.fetchHistory()).events!.length;
    expect(events).toBeLessThan(400);
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(OpsflowMigration)).toBe('runbook');
    expect(described.typedSearchAttributes.get(OpsflowPhase)).toBe('completed');

    // A second run finds nothing left (the filter excludes flagged rows) and leaves the first row alone.
    const again = await run(runbookInput('runbook', schema));
    expect(again.rowsCopied).toBe(0);
    // Nothing left to copy still leaves the whole table to verify: every flagged row against the target.
    expect(again.verification).toMatchObject({
      pass: true,
      sourceRows: expected,
      targetRows: expected,
      chunksVerified: 1,
    });
    const rows = await log(schema);
    expect(rows.map((r) => [r.status, r.rows_migrated])).toEqual([
      ['COMPLETED', expected],
      ['COMPLETED', 0],
    ]);
  });

  test('verify names exactly the corrupted and the deleted key (checksums, then bisection)', async () => {
    const schema = await pg.schema();
    await seedRunbookTables(pg, schema, 200_000);
    const copied = await run(runbookInput('corrupt', schema, { verify: false }));
    expect(copied.verification).toBeUndefined();
    // A verify-only run that passes is logged as a verification, not as a migration that copied 0 rows.
    const cleanRun = await start(runbookInput('corrupt', schema, { mode: 'verify' }));
    const clean = (await cleanRun.result()) as MigrationResult;
    // A verification in segments (its patch marker included), for the replay tests.
    recordHistory(stack.temporalAddress(), cleanRun.workflowId, 'data-migration-verify-segments');
    expect(clean).toMatchObject({
      rowsCopied: 0,
      verification: { pass: true, sourceRows: migratable(200_000), targetRows: migratable(200_000) },
    });
    const verifiedRow = (await log(schema))[1];
    expect(verifiedRow).toMatchObject({
      migration_name: 'corrupt',
      status: 'VERIFIED',
      rows_migrated: 0,
      error_message: null,
    });
    expect(verifiedRow.end_time).not.toBeNull();
    await pg.query(`UPDATE ${schema}.new_users SET email = NULL WHERE user_id = 123457`);
    await pg.query(`DELETE FROM ${schema}.new_users WHERE user_id = 55`);

    const err = await failure(runbookInput('corrupt', schema, { mode: 'verify' }));
    expect(err.type).toBe('VerificationFailed');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toBe('verification failed in chunks 0, 12: 1 missing on target (55); 1 differing (123457)');
    const [report] = err.details as [
      {
        pass: boolean;
        sourceRows: number;
        targetRows: number;
        missingByAntiJoin: number;
        mismatches: { missing: unknown; extra: unknown; differing: unknown };
      },
    ];
    expect(report.pass).toBe(false);
    expect(report.sourceRows - report.targetRows).toBe(1);
    expect(report.mismatches.missing).toEqual({ count: 1, keys: ['55'] });
    expect(report.mismatches.differing).toEqual({ count: 1, keys: ['123457'] });
    expect(report.mismatches.extra).toEqual({ count: 0, keys: [] });
    expect(report.missingByAntiJoin).toBe(1);

    const rows = await log(schema);
    expect(rows.map((r) => [r.status, r.rows_migrated])).toEqual([
      ['COMPLETED', migratable(200_000)],
      ['VERIFIED', 0],
      ['FAILED', 0],
    ]);
    expect(rows[2].error_message).toBe(err.message);
    const bad = await pg.query<{ chunk_no: number; mismatch: unknown }>(
      `SELECT chunk_no, mismatch FROM ${schema}.opsflow_migration_chunks WHERE verify_status = 'mismatch' ORDER BY chunk_no`,
    );
    expect(bad.map((b) => b.chunk_no)).toEqual([0, 12]);
  });

  test('verify with no source rows to compare (an empty source, a filter selecting nothing) still counts and names every target row', async () => {
    type Report = {
      pass: boolean;
      sourceRows: number;
      targetRows: number;
      chunksVerified: number;
      mismatches: Record<'missing' | 'extra' | 'differing', { count: number; keys: string[] }>;
    };
    const schema = await pg.schema();
    await seedRunbookTables(pg, schema, 0);
    await pg.query(
      `INSERT INTO ${schema}.new_users (user_id, username, created_at) SELECT g, 'stray_' || g, now() FROM generate_series(101, 130) g`,
    );

    // An empty source: there is nothing to cut into chunks, and the 30 target rows are all extra.
    const empty = await failure(runbookInput('empty-source', schema, { mode: 'verify', reportKeys: 5 }));
    expect(empty.type).toBe('VerificationFailed');
    const [emptyReport] = empty.details as [Report];
    expect(emptyReport).toMatchObject({ pass: false, sourceRows: 0, targetRows: 30, chunksVerified: 1 });
    expect(emptyReport.mismatches.extra).toEqual({ count: 30, keys: ['101', '102', '103', '104', '105'] });
    expect(emptyReport.mismatches.missing.count + emptyReport.mismatches.differing.count).toBe(0);
    expect(empty.message).toBe('verification failed in chunk 0: 30 extra on target (101, 102, 103, 104, 105, …)');

    // Source rows that a filter leaves out entirely (no flag: the filter says which rows to compare).
    await pg.query(
      `INSERT INTO ${schema}.old_users (id, login_name, create_time, migrate_flag) SELECT g, 'user_' || g, now(), 2 FROM generate_series(1, 200) g`,
    );
    const nothing = await failure(
      runbookInput('filter-selects-nothing', schema, {
        mode: 'verify',
        filter: 'migrate_flag = 0',
        flag: undefined,
        reportKeys: 3,
      }),
    );
    const [nothingReport] = nothing.details as [Report];
    expect(nothingReport).toMatchObject({ pass: false, sourceRows: 0, targetRows: 30 });
    expect(nothingReport.mismatches.extra).toEqual({ count: 30, keys: ['101', '102', '103'] });
    expect(
      await pg.count(`SELECT count(*) FROM ${schema}.opsflow_migration_chunks WHERE verify_status = 'mismatch'`),
    ).toBe(2);

    // A plan of no chunks left by an earlier version (an empty copy) is replanned, not verified as nothing.
    await pg.query(
      `INSERT INTO ${schema}.opsflow_migration_plans (migration_name, kind, fingerprint, chunk_count, planned_rows, planned_by)
       VALUES ('stale-empty-plan', 'copy', 'x', 0, 0, 'an earlier run')`,
    );
    const stale = await failure(runbookInput('stale-empty-plan', schema, { mode: 'verify' }));
    expect((stale.details as [Report])[0]).toMatchObject({
      pass: false,
      targetRows: 30,
      mismatches: { extra: { count: 30 } },
    });
  });

  test('two databases: the COPY path copies with the flag, verifies, and finds a deleted row by key sets', async () => {
    const schema = await pg.schema();
    const targetSchema = await pg.schema(otherDb);
    await seedOldUsers(pg, schema, 200_000);
    await createNewUsers(pg, targetSchema, otherDb);
    const expected = migratable(200_000);
    const input = runbookInput('two-db', schema, {
      target: { database: 'other', table: `${targetSchema}.new_users` },
      stateSchema: targetSchema,
      columns: {
        username: 'login_name',
        email: 'lower(email_address)',
        phone: 'phone_number',
        created_at: 'create_time',
        updated_at: 'modify_time',
        status: 'coalesce(user_status, -1)',
      },
    });
    const result = await run(input);
    expect(result.rowsCopied).toBe(expected);
    expect(result.verification).toMatchObject({ pass: true, sourceRows: expected, targetRows: expected });
    expect(await pg.count(`SELECT count(*) FROM ${targetSchema}.new_users`, [], otherDb)).toBe(expected);
    // Not only counts and the workflow's own checksums: every mapped value, read from both databases.
    expect(await compareAcrossDatabases(schema, targetSchema)).toEqual({ compared: expected, differences: [] });
    expect(
      await pg.count(`SELECT count(*) FROM ${targetSchema}.new_users WHERE status = -1`, [], otherDb),
    ).toBeGreaterThan(0);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.old_users WHERE migrate_flag = 1`)).toBe(expected);
    const [entry] = await pg.query<{ status: string; rows_migrated: number }>(
      `SELECT * FROM ${targetSchema}.migration_log`,
      [],
      otherDb,
    );
    expect(entry).toMatchObject({ status: 'COMPLETED', rows_migrated: expected });

    await pg.query(`DELETE FROM ${targetSchema}.new_users WHERE user_id = 150001`, [], otherDb);
    const err = await failure({ ...input, mode: 'verify' });
    expect(err.message).toBe('verification failed in chunk 14: 1 missing on target (150001)');
  });

  test('bad input: a clear non-retryable error naming the thing, migration_log FAILED with it, nothing copied', async () => {
    const schema = await pg.schema();
    await seedRunbookTables(pg, schema, 1_000);
    await pg.query(`CREATE TABLE ${schema}.dup_users AS SELECT * FROM ${schema}.old_users`);
    await pg.query(`INSERT INTO ${schema}.dup_users SELECT * FROM ${schema}.old_users WHERE id = 5`);
    await pg.query(`CREATE TABLE ${schema}.loose_users AS SELECT * FROM ${schema}.new_users`);

    const cases: [Partial<DataMigrationInput>, RegExp][] = [
      [
        { source: { database: 'app', table: `${schema}.no_such_users` } },
        /^source\.table: table "\w+\.no_such_users" does not exist in database "app"$/,
      ],
      [
        { columns: { username: 'login_name', email: 'email_adress' } },
        /^columns\.email: column "email_adress" does not exist/,
      ],
      [
        { source: { database: 'app', table: `${schema}.dup_users` } },
        /^key\.source: "id" is not unique in "\w+\.dup_users" \(value 5 appears 2 times\)$/,
      ],
      [
        { target: { database: 'app', table: `${schema}.loose_users` } },
        /^key\.target: "user_id" is not unique in "\w+\.loose_users"/,
      ],
      [
        { source: { database: 'nowhere', table: `${schema}.old_users` } },
        /^source\.database: unknown database "nowhere" \(not in config\.postgres/,
      ],
    ];
    for (const [patch, message] of cases) {
      const err = await failure(runbookInput(`bad-${cases.findIndex((c) => c[0] === patch)}`, schema, patch));
      expect(err.nonRetryable).toBe(true);
      expect(err.message).toMatch(message);
    }
    // An unknown database is found before anything is written: the other four have a FAILED row.
    const rows = await log(schema);
    expect(rows.map((r) => r.status)).toEqual(['FAILED', 'FAILED', 'FAILED', 'FAILED']);
    rows.forEach((r, i) => expect(r.error_message).toMatch(cases[i][1]));
    expect(rows.every((r) => r.rows_migrated === 0)).toBe(true);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.new_users`)).toBe(0);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.loose_users`)).toBe(0);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.old_users WHERE migrate_flag = 1`)).toBe(0);

    // Input that fails its schema never reaches a database: no log row, and the field is named.
    const err = await failure({ ...runbookInput('bad-schema', schema), chunkSize: 0 });
    expect(err.message).toMatch(/chunkSize/);
    expect(await log(schema)).toHaveLength(4);
  });

  test("an unreachable database: the run fails after the first check's 3 attempts, naming the input field and the config entry", async () => {
    const handle = await start(
      runbookInput('unreachable', 'public', { source: { database: 'deaddb', table: 'public.old_users' } }),
    );
    const err = await handle.result().catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause.message).toBe(
      `source.database "deaddb" (postgres.deaddb): connect ECONNREFUSED 127.0.0.1:${deadPort}`,
    );
    // The check before anything is written has its own short budget, not the steps' 10 attempts.
    const events = (await handle.fetchHistory()).events ?? [];
    const check = events.filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'resolveMigrationDatabases',
    );
    expect(check).toHaveLength(1);
    expect(check[0].activityTaskScheduledEventAttributes?.retryPolicy?.maximumAttempts).toBe(3);
    expect(events.find((e) => e.activityTaskStartedEventAttributes)?.activityTaskStartedEventAttributes?.attempt).toBe(
      3,
    );
    expect(events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'openMigrationLog')).toBe(
      false,
    );
  });

  test('dry-run through the CLI: reports rows and chunks, writes nothing at all', async () => {
    const schema = await pg.schema();
    await seedRunbookTables(pg, schema, 20_000);
    const input = runbookInput('dry', schema, { mode: 'dry-run' });
    const out = await stack.cli(['start', 'data-migration', '--input', JSON.stringify(input), '--wait']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/started dataMigrationWorkflow data-migration-dry-dry-run-/);
    expect(out.stdout).toContain(`"rows": ${migratable(20_000)}`);
    expect(out.stdout).toContain('"chunks": 2');
    expect(await pg.count(`SELECT count(*) FROM ${schema}.new_users`)).toBe(0);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.old_users WHERE migrate_flag = 1`)).toBe(0);
    expect(
      await pg.count(`SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename LIKE '%migration%'`, [schema]),
    ).toBe(0);

    const bad = await stack.cli([
      'start',
      'data-migration',
      '--input',
      JSON.stringify({ ...input, key: { source: 'id' } }),
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/key/);
  });

  test('pause, resume, cancel and rerun: history stays small, finished chunks stay committed, the rerun resumes', async () => {
    const schema = await pg.schema();
    await seedRunbookTables(pg, schema, 50_000);
    await slowDownTarget(pg, schema, 0.1);
    const expected = migratable(50_000);
    const input = runbookInput('operated', schema, { chunkSize: 500, parallelism: 2, chunksPerRun: 8 });
    const handle = await start(input);
    const status = () => handle.query(statusQuery);

    await waitFor('12 chunks copied', async () => ((await status()).chunks.copied >= 12 ? true : undefined), 60_000);
    await handle.signal(pauseSignal);
    // In-flight chunks finish, then the run sits paused: no activity or workflow task pending, no
    // event between two looks at the server, and the progress table holding exactly the chunks
    // and rows the workflow counted (a chunk still copying would be in neither, or only the table).
    const copiedInTable = async () => {
      const [r] = await pg.query<{ n: string; rows: string }>(
        `SELECT count(*) AS n, coalesce(sum(rows_copied), 0) AS rows FROM ${schema}.opsflow_migration_chunks WHERE status = 'copied'`,
      );
      return { chunks: Number(r.n), rows: Number(r.rows) };
    };
    const idle = (d: Awaited<ReturnType<typeof handle.describe>>) =>
      (d.raw.pendingActivities ?? []).length === 0 && !d.raw.pendingWorkflowTask;
    const { settled, settledAt } = await waitFor(
      'the paused copy to settle in the progress table',
      async () => {
        const before = await handle.describe();
        const s = await status();
        const table = await copiedInTable();
        const after = await handle.describe();
        const still =
          idle(before) && idle(after) && before.runId === after.runId && before.historyLength === after.historyLength;
        const agree = table.chunks === s.chunks.copied && table.rows === s.rows.copied;
        return s.paused && still && agree ? { settled: s, settledAt: after } : undefined;
      },
      30_000,
    );
    expect(settled.chunks.copied).toBeLessThan(settled.chunks.total);
    expect(settled.generation).toBeGreaterThanOrEqual(1); // continued as new at least once
    expect(settled.rowsPerSecond).toBeGreaterThan(0);
    expect(settled.etaSeconds).toBeGreaterThan(0);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.new_users`)).toBe(settled.rows.copied);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.old_users WHERE migrate_flag = 1`)).toBe(settled.rows.copied);

    await handle.signal(resumeSignal);
    await waitFor(
      'more chunks after resume',
      async () => ((await status()).chunks.copied >= settled.chunks.copied + 4 ? true : undefined),
      60_000,
    );
    await handle.cancel();
    const err = await handle.result().then(
      () => undefined,
      (e) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause).toBeInstanceOf(CancelledFailure);
    recordHistory(stack.temporalAddress(), handle.workflowId, 'data-migration-paused-cancelled');

    const copiedChunks = await pg.query<{ n: string; rows: string }>(
      `SELECT count(*) AS n, coalesce(sum(rows_copied), 0) AS rows FROM ${schema}.opsflow_migration_chunks WHERE status = 'copied'`,
    );
    const cancelledRows = Number(copiedChunks[0].rows);
    expect(Number(copiedChunks[0].n)).toBeLessThan(100);
    expect(cancelledRows).toBeGreaterThan(settled.rows.copied);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.new_users`)).toBe(cancelledRows);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.old_users WHERE migrate_flag = 1`)).toBe(cancelledRows);
    expect((await log(schema)).map((r) => [r.status, r.rows_migrated])).toEqual([['CANCELLED', cancelledRows]]);

    // Nothing moved while paused: in the run that settled, the next event after the settled state
    // is the resume signal — no chunk, no refill, no timer in between.
    const pausedRun = await stack.client.workflow.getHandle(handle.workflowId, settledAt.runId).fetchHistory();
    const afterSettle = pausedRun.events!.filter((e) => Number(e.eventId) > settledAt.historyLength);
    expect(afterSettle[0]?.workflowExecutionSignaledEventAttributes?.signalName).toBe('resume');

    // Every history of the cancelled run stayed short: 100 chunks never sat in one history.
    const first = stack.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId);
    expect((await first.fetchHistory()).events!.length).toBeLessThan(150);

    await pg.query(`DROP TRIGGER slow_statement ON ${schema}.new_users`);
    // Parallelism and history size may change on a rerun; what is copied may not.
    const rerun = await run({ ...input, parallelism: 4, chunksPerRun: 200 });
    expect(rerun.resumed).toBe(true);
    expect(rerun.rowsCopied).toBe(expected - cancelledRows);
    expect(rerun.verification).toMatchObject({
      pass: true,
      sourceRows: expected,
      targetRows: expected,
      chunksVerified: 100,
    });
    expect(await pg.count(`SELECT count(*) FROM ${schema}.new_users`)).toBe(expected);
    expect((await log(schema)).map((r) => [r.status, r.rows_migrated])).toEqual([
      ['CANCELLED', cancelledRows],
      ['COMPLETED', expected - cancelledRows],
    ]);
  });

  test('a uuid key and no flag: keyset chunks, upserts on a rerun, and bisection by uuid', async () => {
    const schema = await pg.schema();
    await pg.query(
      `CREATE TABLE ${schema}.devices (serial uuid PRIMARY KEY, label text, seen numeric(12, 3), tags jsonb)`,
    );
    await pg.query(
      `INSERT INTO ${schema}.devices SELECT gen_random_uuid(), CASE WHEN g % 9 = 0 THEN NULL ELSE 'device ' || g END, g / 7.0, jsonb_build_object('n', g)
         FROM generate_series(1, 30000) g`,
    );
    await pg.query(
      `CREATE TABLE ${schema}.devices_v2 (id uuid PRIMARY KEY, name text, last_seen numeric(12, 3), meta jsonb, migrated boolean)`,
    );
    const input: DataMigrationInput = {
      name: 'uuid-devices',
      source: { database: 'app', table: `${schema}.devices` },
      target: { database: 'app', table: `${schema}.devices_v2` },
      key: { source: 'serial', target: 'id' },
      columns: { name: 'upper(label)', last_seen: 'seen', meta: 'tags', migrated: 'true' },
      chunkSize: 5_000,
      stateSchema: schema,
    };
    const first = await run(input);
    expect(first).toMatchObject({
      rowsCopied: 30_000,
      chunks: 6,
      verification: { pass: true, sourceRows: 30_000, targetRows: 30_000 },
    });
    // Without a flag a rerun copies everything again: upserts, no duplicates, still verified.
    const again = await run(input);
    expect(again).toMatchObject({ rowsCopied: 30_000, verification: { pass: true } });
    expect(await pg.count(`SELECT count(*) FROM ${schema}.devices_v2`)).toBe(30_000);

    const [victim, gone] = await pg.query<{ id: string }>(
      `SELECT id::text AS id FROM ${schema}.devices_v2 ORDER BY id OFFSET 12345 LIMIT 2`,
    );
    await pg.query(`UPDATE ${schema}.devices_v2 SET last_seen = last_seen + 0.001 WHERE id = $1`, [victim.id]);
    await pg.query(`DELETE FROM ${schema}.devices_v2 WHERE id = $1`, [gone.id]);
    // Strays below and above every source key: the open first and last chunks still see them.
    const extra = ['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'];
    for (const id of extra) await pg.query(`INSERT INTO ${schema}.devices_v2 (id, name) VALUES ($1, 'stray')`, [id]);
    const err = await failure({ ...input, mode: 'verify' });
    const [report] = err.details as [{ mismatches: { missing: unknown; extra: unknown; differing: unknown } }];
    expect(report.mismatches).toMatchObject({
      missing: { count: 1, keys: [gone.id] },
      differing: { count: 1, keys: [victim.id] },
    });
    // Chunks finish in parallel, so keys of different chunks are listed in the order found.
    expect((report.mismatches.extra as { count: number; keys: string[] }).count).toBe(2);
    expect([...(report.mismatches.extra as { keys: string[] }).keys].sort()).toEqual(extra);
  });

  test('a row the target refuses mid-copy: the run fails naming the chunk, earlier chunks stay, no lane goes on', async () => {
    const schema = await pg.schema();
    await seedRunbookTables(pg, schema, 50_000);
    await pg.query(`ALTER TABLE ${schema}.new_users ADD CONSTRAINT no_40001 CHECK (user_id <> 40001)`);
    const err = await failure(runbookInput('refused', schema, { chunkSize: 1_000, parallelism: 4 }));
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(
      /^chunk 39 \(keys \d+ < key <= \d+\): new row for relation "new_users" violates check constraint "no_40001"/,
    );
    const [entry] = await log(schema);
    expect(entry.status).toBe('FAILED');
    expect(entry.error_message).toBe(err.message);
    const copied = await pg.query<{ n: string; rows: string; last: number }>(
      `SELECT count(*) AS n, coalesce(sum(rows_copied), 0) AS rows, max(chunk_no) AS last FROM ${schema}.opsflow_migration_chunks WHERE status = 'copied'`,
    );
    // Chunk 39 rolled back; the lanes took at most the chunks already fetched after it.
    expect(
      await pg.count(
        `SELECT count(*) FROM ${schema}.opsflow_migration_chunks WHERE chunk_no = 39 AND status = 'copied'`,
      ),
    ).toBe(0);
    expect(Number(copied[0].n)).toBeGreaterThanOrEqual(39);
    expect(Number(copied[0].last)).toBeLessThan(39 + 4 * 4 + 4);
    expect(entry.rows_migrated).toBe(Number(copied[0].rows));
    expect(await pg.count(`SELECT count(*) FROM ${schema}.new_users`)).toBe(Number(copied[0].rows));
    expect(await pg.count(`SELECT count(*) FROM ${schema}.old_users WHERE migrate_flag = 1`)).toBe(
      Number(copied[0].rows),
    );
  });

  test('many differences: every one counted, the first reportKeys listed, bisection still exact', async () => {
    const schema = await pg.schema();
    await seedRunbookTables(pg, schema, 30_000);
    const input = runbookInput('many', schema, { chunkSize: 5_000, reportKeys: 5, verify: false });
    await run(input);
    // 1 500 rows gone across a chunk boundary, 300 changed across another boundary.
    await pg.query(`DELETE FROM ${schema}.new_users WHERE user_id > 9000 AND user_id <= 10500`);
    await pg.query(`UPDATE ${schema}.new_users SET phone = 'changed' WHERE user_id > 20000 AND user_id <= 20300`);
    const deleted = await pg.count(
      `SELECT count(*) FROM ${schema}.old_users WHERE id > 9000 AND id <= 10500 AND migrate_flag = 1`,
    );
    const changed = await pg.count(
      `SELECT count(*) FROM ${schema}.old_users WHERE id > 20000 AND id <= 20300 AND migrate_flag = 1`,
    );
    const err = await failure({ ...input, mode: 'verify' });
    const [report] = err.details as [
      { mismatches: Record<'missing' | 'extra' | 'differing', { count: number; keys: string[] }> },
    ];
    expect(report.mismatches.missing.count).toBe(deleted);
    expect(report.mismatches.differing.count).toBe(changed);
    expect(report.mismatches.extra.count).toBe(0);
    expect(report.mismatches.missing.keys).toHaveLength(5);
    for (const k of [...report.mismatches.missing.keys, ...report.mismatches.differing.keys]) {
      const id = Number(k);
      expect((id > 9000 && id <= 10500) || (id > 20000 && id <= 20300)).toBe(true);
    }
    expect(err.message).toMatch(
      new RegExp(
        `^verification failed in chunks 1, 2, 3, 4: ${deleted} missing on target \\(.*, …\\); ${changed} differing`,
      ),
    );
  });

  test('a duplicate on another unique target column fails at once, naming the chunk (not retried as a race)', async () => {
    const schema = await pg.schema();
    await seedRunbookTables(pg, schema, 20_000);
    await pg.query(`CREATE UNIQUE INDEX new_users_email ON ${schema}.new_users (email)`);
    await pg.query(`UPDATE ${schema}.old_users SET email_address = 'twin@example.com' WHERE id IN (12001, 12002)`);
    const err = await failure(runbookInput('twins', schema, { chunkSize: 5_000 }));
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(
      /^chunk 2 \(keys \d+ < key <= \d+\): duplicate key value violates unique constraint "new_users_email"/,
    );
    expect((await log(schema))[0]).toMatchObject({ status: 'FAILED', error_message: err.message });
  });

  test("rows inserted while the copy runs are never flagged without being copied (the runbook's race)", async () => {
    const schema = await pg.schema();
    await seedRunbookTables(pg, schema, 0);
    // Even ids now; odd ids arrive while the copy runs, in ranges already copied and not yet.
    await pg.query(
      `INSERT INTO ${schema}.old_users (id, login_name, create_time) SELECT g * 2, 'user_' || g, now() FROM generate_series(1, 20000) g`,
    );
    await slowDownTarget(pg, schema, 0.05);
    const handle = await start(runbookInput('race', schema, { chunkSize: 500, parallelism: 2 }));
    let inserted = 0;
    let finished = false;
    // Settled either way, so that a failing insert below cannot leave the result unobserved.
    const done = handle.result().then(
      (r) => r as MigrationResult,
      (e: Error) => e,
    );
    void done.then(() => (finished = true));
    try {
      while (!finished) {
        const id = 2 * Math.floor(Math.random() * 20000) + 1;
        await pg.query(
          `INSERT INTO ${schema}.old_users (id, login_name, create_time) VALUES ($1::bigint, 'late_' || $1::text, now()) ON CONFLICT DO NOTHING`,
          [id],
        );
        inserted++;
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      await handle.terminate().catch(() => undefined);
    }
    const result = await done;
    if (result instanceof Error) throw result;
    expect(inserted).toBeGreaterThan(20);
    expect(result.verification?.pass).toBe(true);
    const flagged = await pg.count(`SELECT count(*) FROM ${schema}.old_users WHERE migrate_flag = 1`);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.new_users`)).toBe(flagged);
    expect(result.rowsCopied).toBe(flagged);
    // The runbook's check: no flagged row without its copy — and no copy of an unflagged row.
    expect(
      await pg.count(
        `SELECT count(*) FROM ${schema}.old_users o WHERE migrate_flag = 1 AND NOT EXISTS (SELECT 1 FROM ${schema}.new_users n WHERE n.user_id = o.id)`,
      ),
    ).toBe(0);
    expect(
      await pg.count(
        `SELECT count(*) FROM ${schema}.new_users n JOIN ${schema}.old_users o ON o.id = n.user_id WHERE o.migrate_flag <> 1`,
      ),
    ).toBe(0);
    // Late rows in ranges already copied wait, unflagged, for the next run, which takes them.
    const waiting = await pg.count(`SELECT count(*) FROM ${schema}.old_users WHERE migrate_flag = 0`);
    expect(waiting).toBeGreaterThan(0);
    const next = await run(runbookInput('race', schema, { chunkSize: 500, parallelism: 2 }));
    expect(next.rowsCopied).toBe(waiting);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.old_users WHERE migrate_flag = 0`)).toBe(0);
  });

  test('cancel during a long chunk: its statement is cancelled on the server and rolled back, the log says CANCELLED', async () => {
    const schema = await pg.schema();
    await seedRunbookTables(pg, schema, 5_000);
    await slowDownTarget(pg, schema, 120);
    const handle = await start(runbookInput('long-chunk', schema, { chunkSize: 10_000, parallelism: 1 }));
    // The chunk's INSERT running: not the log's or the plan's INSERT (the state tables share the
    // schema), whose text an idle pooled connection still shows as its last query.
    const sleeping = () =>
      pg.count(
        `SELECT count(*) FROM pg_stat_activity
          WHERE application_name = 'opsflow-migration' AND state = 'active' AND query LIKE $1`,
        [`%INSERT INTO "${schema}"."new_users"%`],
      );
    await waitFor('the chunk statement to run', async () => ((await sleeping()) > 0 ? true : undefined), 30_000);
    await handle.cancel();
    const err = await handle.result().then(
      () => undefined,
      (e) => e,
    );
    expect(err.cause).toBeInstanceOf(CancelledFailure);
    // The run ended cancelled with the statement gone from the server, which would otherwise have
    // slept its 120 s (far past this test's timeout): the server cancelled it.
    expect(await sleeping()).toBe(0);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.new_users`)).toBe(0);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.old_users WHERE migrate_flag = 1`)).toBe(0);
    expect((await log(schema)).map((r) => [r.status, r.rows_migrated])).toEqual([['CANCELLED', 0]]);
  });
});

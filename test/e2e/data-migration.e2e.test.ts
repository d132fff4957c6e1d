import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { Stack, waitFor } from '../helpers/stack';
import { requirePostgres } from '../helpers/services';
import { PgScratch } from '../helpers/pg-scratch';
import { createNewUsers, migratable, migrationConfig, runbookInput, seedRunbookTables } from '../helpers/migration-fixtures';
import type { DataMigrationInput } from '../../src/domain/migration-input';
import type { MigrationResult, MigrationStatus } from '../../src/workflows/data-migration';
import { OpsflowMigration, OpsflowPhase } from '../../src/domain/search-attributes';

/**
 * dataMigrationWorkflow end to end: the Temporal dev server, an opsflow worker in this process, and
 * the machine's PostgreSQL. Every assertion reads the real tables afterwards.
 */
describe('dataMigrationWorkflow on real PostgreSQL', () => {
  let stack: Stack;
  const pg = new PgScratch('mig_e2e');
  let otherDb: string;

  beforeAll(async () => {
    await requirePostgres();
    otherDb = await pg.database();
    stack = await Stack.start();
    await stack.startWorker(migrationConfig({ other: otherDb }));
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
    pg.query<{ id: number; migration_name: string; status: string; rows_migrated: number; error_message: string | null; end_time: Date | null }>(
      `SELECT * FROM ${schema}.migration_log ORDER BY id`,
    );

  test('runbook migration of 200 000 rows: copied once, flagged in the same transaction, verified, logged COMPLETED', async () => {
    const schema = await pg.schema();
    await seedRunbookTables(pg, schema, 200_000);
    const expected = migratable(200_000);
    const handle = await start(runbookInput('runbook', schema));
    const result = (await handle.result()) as MigrationResult;

    expect(result.rowsCopied).toBe(expected);
    expect(result.chunks).toBe(20);
    expect(result.verification).toMatchObject({ pass: true, sourceRows: expected, targetRows: expected, chunksVerified: 20 });
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
    expect(entry).toMatchObject({ migration_name: 'runbook', status: 'COMPLETED', rows_migrated: expected, error_message: null });
    expect(entry.end_time).not.toBeNull();
    const chunks = await pg.query<{ status: string; verify_status: string; source_checksum: string; target_checksum: string }>(
      `SELECT status, verify_status, source_checksum, target_checksum FROM ${schema}.opsflow_migration_chunks`,
    );
    expect(chunks).toHaveLength(20);
    expect(chunks.every((c) => c.status === 'copied' && c.verify_status === 'match' && c.source_checksum === c.target_checksum)).toBe(true);

    const status = (await handle.query('status')) as MigrationStatus;
    expect(status).toMatchObject({ phase: 'completed', chunks: { total: 20, copied: 20, verified: 20 } });
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(OpsflowMigration)).toBe('runbook');
    expect(described.typedSearchAttributes.get(OpsflowPhase)).toBe('completed');

    // A second run finds nothing left (the filter excludes flagged rows) and leaves the first row alone.
    const again = await run(runbookInput('runbook', schema));
    expect(again.rowsCopied).toBe(0);
    const rows = await log(schema);
    expect(rows.map((r) => [r.status, r.rows_migrated])).toEqual([
      ['COMPLETED', expected],
      ['COMPLETED', 0],
    ]);
  });
});

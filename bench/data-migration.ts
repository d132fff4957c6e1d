import { execFile } from 'node:child_process';
import { Stack } from '../test/helpers/stack';
import { PgScratch } from '../test/helpers/pg-scratch';
import { pgConnection, requirePostgres } from '../test/helpers/services';
import {
  createNewUsers,
  migratable,
  migrationConfig,
  runbookInput,
  seedOldUsers,
} from '../test/helpers/migration-fixtures';
import type { DataMigrationInput } from '../src/domain/migration/input';
import type { MigrationResult } from '../src/workflows/migration/workflow';
import { activityBreakdown } from './lib/migration-timeline';

/**
 * `npm run bench -- data-migration [rows] [rounds]` (default 1 000 000 rows, 2 rounds): the same
 * migration several ways, each on its own freshly seeded copy of the runbook's tables in the
 * machine's PostgreSQL, every variant once per round, the rounds alternating:
 *  - raw: the runbook's statements in one transaction (INSERT … SELECT, then the flag UPDATE);
 *  - dataMigrationWorkflow copy with the flag (default chunk size and parallelism), then verify;
 *  - across two databases: `psql \copy … to stdout | psql \copy … from stdin` without the flag and,
 *    like for like with the workflow's flagged COPY path, followed by the runbook's flag UPDATE;
 *    the COPY path without the flag and with it (then verify).
 * Each figure is the best round's; copy + verify is the best round's sum, both from one round.
 */
export async function main(args: string[]) {
  const rows = Number(args[0] ?? 1_000_000);
  const rounds = Number(args[1] ?? 2);
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(rounds) || rounds < 1)
    throw new Error('usage: npm run bench -- data-migration [rows] [rounds]');
  await requirePostgres();
  const pg = new PgScratch('mig_bench');
  let stack: Stack | undefined;
  const expected = migratable(rows);
  const rate = (ms: number) => Math.round(expected / (ms / 1000));
  const line = (label: string, ms: number) =>
    console.log(`${label.padEnd(66)} ${(ms / 1000).toFixed(2).padStart(7)} s ${String(rate(ms)).padStart(9)} rows/s`);
  try {
    const otherDb = await pg.database();
    console.log(
      `data-migration bench: ${rows} seeded rows, ${expected} to migrate, ${rounds} rounds (PostgreSQL ${pgConnection.host}:${pgConnection.port})`,
    );
    const fresh = async (database?: string) => {
      const schema = await pg.schema();
      await seedOldUsers(pg, schema, rows);
      const targetSchema = database ? await pg.schema(database) : schema;
      await createNewUsers(pg, targetSchema, database);
      await pg.query(`VACUUM ANALYZE ${schema}.old_users`);
      // Every variant starts from a clean checkpoint, so none pays for the WAL of the seeding.
      await pg.query('CHECKPOINT');
      if (database) await pg.query('CHECKPOINT', [], database);
      return { schema, targetSchema, database };
    };
    const dropAll = async (...seeded: { schema: string; targetSchema: string; database?: string }[]) => {
      // Space: each seeded pair is a few hundred MB.
      for (const x of seeded) {
        await pg.query(`DROP SCHEMA ${x.schema} CASCADE`);
        if (x.database) await pg.query(`DROP SCHEMA ${x.targetSchema} CASCADE`, [], x.database);
      }
    };
    const timed = async (fn: () => Promise<unknown>) => {
      const t = performance.now();
      await fn();
      return performance.now() - t;
    };

    // The Temporal dev server and the worker run from the start, so every variant shares the host with them.
    stack = await Stack.start();
    await stack.startWorker(migrationConfig({ other: otherDb }));
    const run = async (input: DataMigrationInput) => {
      const h = await stack!.client.workflow.start('dataMigrationWorkflow', {
        taskQueue: 'opsflow',
        workflowId: `bench-${input.name}-${Date.now()}`,
        args: [input],
      });
      return { result: (await h.result()) as MigrationResult, workflowId: h.workflowId };
    };

    const cols = 'id, login_name, email_address, phone_number, create_time, modify_time, user_status';
    const psqlArgs = (db: string, cmd: string) => [
      '-h',
      pgConnection.host,
      '-p',
      String(pgConnection.port),
      '-U',
      pgConnection.user,
      '-d',
      db,
      '-v',
      'ON_ERROR_STOP=1',
      '-qc',
      cmd,
    ];
    const q = (a: string[]) => a.map((x) => `'${x.replace(/'/g, `'\\''`)}'`).join(' ');
    const bash = (script: string) =>
      new Promise<void>((resolve, reject) =>
        execFile('bash', ['-o', 'pipefail', '-c', script], { env: { ...process.env, PGTZ: 'UTC' } }, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
    /** psql's \copy pipe into the other database, then (withFlag) the runbook's flag UPDATE on the source. */
    const pipe = (x: { schema: string; targetSchema: string }, withFlag: boolean) =>
      bash(
        `psql ${q(psqlArgs(pgConnection.database, `\\copy (SELECT ${cols} FROM ${x.schema}.old_users WHERE migrate_flag = 0) to stdout`))} | ` +
          `psql ${q(psqlArgs(otherDb, `\\copy ${x.targetSchema}.new_users (user_id, username, email, phone, created_at, updated_at, status) from stdin`))}` +
          (withFlag
            ? ` && psql ${q(psqlArgs(pgConnection.database, `UPDATE ${x.schema}.old_users SET migrate_flag = 1 WHERE migrate_flag = 0`))}`
            : ''),
      );
    const twoDbInput = (
      name: string,
      x: { schema: string; targetSchema: string },
      patch: Partial<DataMigrationInput>,
    ) =>
      runbookInput(name, x.schema, {
        target: { database: 'other', table: `${x.targetSchema}.new_users` },
        stateSchema: x.targetSchema,
        verify: false,
        ...patch,
      });

    const times: Record<string, number[]> = {};
    const record = (name: string, ms: number) => (times[name] ??= []).push(ms);
    const breakdowns: string[] = [];
    for (let round = 1; round <= rounds; round++) {
      // 1. The runbook's raw statements, one transaction.
      const raw = await fresh();
      record(
        'raw',
        await timed(async () => {
          const c = await pg.client();
          await c.query('BEGIN');
          await c.query(
            `INSERT INTO ${raw.schema}.new_users (user_id, username, email, phone, created_at, updated_at, status)
             SELECT ${cols} FROM ${raw.schema}.old_users WHERE migrate_flag = 0`,
          );
          await c.query(`UPDATE ${raw.schema}.old_users SET migrate_flag = 1 WHERE migrate_flag = 0`);
          await c.query('COMMIT');
        }),
      );
      await dropAll(raw);

      // 2. The workflow, same database: copy with the flag, then verify.
      const wf = await fresh();
      let copied: { result: MigrationResult; workflowId: string } | undefined;
      record(
        'copy',
        await timed(
          async () => (copied = await run(runbookInput(`bench-copy-${round}`, wf.schema, { verify: false }))),
        ),
      );
      let verified: { result: MigrationResult; workflowId: string } | undefined;
      record(
        'verify',
        await timed(
          async () => (verified = await run(runbookInput(`bench-copy-${round}`, wf.schema, { mode: 'verify' }))),
        ),
      );
      if (copied?.result.rowsCopied !== expected || !verified?.result.verification?.pass)
        throw new Error(`workflow did not copy and verify ${expected} rows`);
      breakdowns.push(`round ${round} copy:\n${await activityBreakdown(stack.client, copied.workflowId)}`);
      breakdowns.push(`round ${round} verify:\n${await activityBreakdown(stack.client, verified.workflowId)}`);
      await dropAll(wf);

      // 3. Two databases: psql's pipe without the flag, and with the runbook's flag UPDATE after it.
      const bare = await fresh(otherDb);
      record('pipe', await timed(() => pipe(bare, false)));
      await dropAll(bare);
      const flagged = await fresh(otherDb);
      record('pipe+flag', await timed(() => pipe(flagged, true)));
      if ((await pg.count(`SELECT count(*) FROM ${flagged.schema}.old_users WHERE migrate_flag = 1`)) !== expected)
        throw new Error('the flag UPDATE after the pipe did not flag every row');
      await dropAll(flagged);

      // 4. The workflow's COPY path with the flag (then verify), and without it (the pipe's work).
      const two = await fresh(otherDb);
      const twoInput = twoDbInput(`bench-two-${round}`, two, {});
      let twoCopied: { result: MigrationResult; workflowId: string } | undefined;
      record('two', await timed(async () => (twoCopied = await run(twoInput))));
      let twoVerified: MigrationResult | undefined;
      record(
        'two-verify',
        await timed(async () => (twoVerified = (await run({ ...twoInput, mode: 'verify' })).result)),
      );
      if (twoCopied?.result.rowsCopied !== expected || !twoVerified?.verification?.pass)
        throw new Error('COPY path did not copy and verify every row');
      breakdowns.push(
        `round ${round} COPY path with flag:\n${await activityBreakdown(stack.client, twoCopied.workflowId)}`,
      );
      await dropAll(two);
      const plain = await fresh(otherDb);
      let plainCopied: { result: MigrationResult; workflowId: string } | undefined;
      record(
        'two-bare',
        await timed(
          async () => (plainCopied = await run(twoDbInput(`bench-bare-${round}`, plain, { flag: undefined }))),
        ),
      );
      if (plainCopied?.result.rowsCopied !== expected) throw new Error('COPY path without flag did not copy every row');
      breakdowns.push(
        `round ${round} COPY path, no flag:\n${await activityBreakdown(stack.client, plainCopied.workflowId)}`,
      );
      await dropAll(plain);

      const s = (name: string) => `${(times[name][round - 1] / 1000).toFixed(2)} s`;
      console.log(
        `round ${round}: raw ${s('raw')}, copy ${s('copy')}, verify ${s('verify')}; pipe ${s('pipe')}, pipe + flag ${s('pipe+flag')}, ` +
          `COPY path ${s('two-bare')} / with flag ${s('two')}, verify ${s('two-verify')}`,
      );
    }
    const best = (name: string) => Math.min(...times[name]);
    const copyVerify = times.copy.map((ms, i) => ms + times.verify[i]);
    const cvRound = copyVerify.indexOf(Math.min(...copyVerify)) + 1;

    console.log(`\nwhere the workflows' time went (from their histories):\n${breakdowns.join('\n')}`);
    console.log(`\nbest of ${rounds} rounds each; copy + verify is one round's (round ${cvRound})`);
    line('raw INSERT … SELECT + flag UPDATE, one transaction', best('raw'));
    line('dataMigrationWorkflow copy (with flag), same database', best('copy'));
    line('dataMigrationWorkflow verify (counts and checksums per chunk)', best('verify'));
    line(`dataMigrationWorkflow copy + verify (round ${cvRound})`, copyVerify[cvRound - 1]);
    line('psql \\copy to stdout | psql \\copy from stdin (no flag)', best('pipe'));
    line("the same pipe, then the runbook's flag UPDATE on the source", best('pipe+flag'));
    line('dataMigrationWorkflow COPY path (no flag), two databases', best('two-bare'));
    line('dataMigrationWorkflow COPY path (with flag), two databases', best('two'));
    line('dataMigrationWorkflow verify, two databases', best('two-verify'));
    const copyRatio = best('raw') / best('copy');
    console.log('');
    console.log(`copy / raw:                         ${copyRatio.toFixed(2)}x (target 1.0x)`);
    console.log(
      `copy + verify / raw:                ${(best('raw') / copyVerify[cvRound - 1]).toFixed(2)}x (target 0.8x)`,
    );
    console.log(`COPY path / psql pipe, no flag:     ${(best('pipe') / best('two-bare')).toFixed(2)}x (target 0.9x)`);
    console.log(
      `COPY path / pipe + flag UPDATE:     ${(best('pipe+flag') / best('two')).toFixed(2)}x with the flag (target 0.8x)`,
    );
    console.log(`data-migration: ${copyRatio.toFixed(2)}x raw (target 1.0x)`);
    console.log(`verify: ${rate(best('verify'))} rows/s (target 1000000 rows/s)`);
  } finally {
    await stack?.stop();
    await pg.drop();
  }
}

import { migrationActivities, type ChunkVerification } from '../../src/activities/migration';
import { parseConfigText } from '../../src/config/load';
import type { Chunk } from '../../src/domain/migration/plan';
import type { DataMigrationInput } from '../../src/domain/migration/input';
import { MockActivityEnvironment } from '@temporalio/testing';
import { runActivity } from '../helpers/activity';
import { createNewUsers, migratable, migrationConfig, runbookInput, seedOldUsers } from '../helpers/migration-fixtures';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, requirePostgres } from '../helpers/services';

/**
 * The migration's verification (`verifyChunks`) fed the differences it exists to find, on real
 * PostgreSQL: the runbook's tables copied by the migration's own activities, then a target row
 * deleted, one added that the source does not migrate, and values changed (a NULL among them).
 * It must name exactly those keys, in their chunks, and pass the chunk nobody touched.
 */
describe('migration verification finds the exact differing keys (real PostgreSQL)', () => {
  const pg = new PgScratch('mig_verify');
  const ROWS = 6_000;
  let otherDb: string;
  let acts: ReturnType<typeof migrationActivities>;

  beforeAll(async () => {
    await requirePostgres();
    otherDb = await pg.database();
    acts = migrationActivities(parseConfigText(JSON.stringify(migrationConfig({ other: otherDb })), 'migration.json'));
  });
  afterAll(() => pg.drop());

  /** Copies the runbook's rows (chunks of 2 500 keys, so a differing chunk is bisected) and returns the chunks to verify. */
  async function copied(
    input: DataMigrationInput,
  ): Promise<{ shape: Awaited<ReturnType<typeof acts.preflightMigration>>; chunks: Chunk[] }> {
    const runKey = `run-${input.name}`;
    await runActivity(acts.openMigrationLog, input, runKey);
    const shape = await runActivity(acts.preflightMigration, input);
    await runActivity(acts.planMigration, input, shape, runKey);
    const toCopy = await runActivity(acts.nextMigrationChunks, input, 'copy', -1, 100);
    await runActivity(acts.copyMigrationChunks, input, shape, toCopy.chunks, runKey);
    const toVerify = await runActivity(acts.nextMigrationChunks, input, 'verify', -1, 100);
    expect(toVerify.chunks.length).toBe(3);
    return { shape, chunks: toVerify.chunks };
  }

  const chunkOf = (chunks: Chunk[], key: number) =>
    chunks.find((c) => (c.lo === null || Number(c.lo) < key) && (c.hi === null || key <= Number(c.hi)))!.no;
  const keys = (v: ChunkVerification) => ({
    missing: v.mismatches.missing.keys,
    extra: v.mismatches.extra.keys,
    differing: v.mismatches.differing.keys,
  });
  const none = { missing: [], extra: [], differing: [] };

  async function feedDifferences(targetSchema: string, database: string) {
    const q = (sql: string) => pg.query(sql, [], database);
    await q(`DELETE FROM ${targetSchema}.new_users WHERE user_id = 55`);
    // 200 carries migrate_flag 2 in the source: a target row for it is one the source never migrates.
    await q(`INSERT INTO ${targetSchema}.new_users (user_id, username) VALUES (200, 'only in the target')`);
    await q(`UPDATE ${targetSchema}.new_users SET phone = '+81-90-99999999' WHERE user_id = 1234`);
    // 4010's email is NULL in the source; a value where NULL belongs differs too.
    await q(`UPDATE ${targetSchema}.new_users SET email = 'user4010@example.com' WHERE user_id = 4010`);
  }

  test('same database: a row missing, a row only in the target and changed values are reported by key; the untouched chunk matches', async () => {
    const schema = await pg.schema();
    await seedOldUsers(pg, schema, ROWS);
    await createNewUsers(pg, schema);
    const input = runbookInput('verify-same-db', schema, { chunkSize: 2_500 });
    const { shape, chunks } = await copied(input);
    expect(shape.sameDatabase).toBe(true);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.new_users`)).toBe(migratable(ROWS));
    const first = chunkOf(chunks, 55);
    expect([chunkOf(chunks, 200), chunkOf(chunks, 1234)]).toEqual([first, first]);
    const other = chunkOf(chunks, 4010);
    expect(other).not.toBe(first);

    // Before any difference, every chunk matches: the comparison does not cry wolf.
    const clean = await runActivity(acts.verifyMigrationChunks, input, shape, chunks);
    expect(clean.map((v) => [v.match, keys(v)])).toEqual(chunks.map(() => [true, none]));

    await feedDifferences(schema, pgConnection.database);
    const results = await runActivity(acts.verifyMigrationChunks, input, shape, chunks);
    const byNo = new Map(results.map((v) => [v.chunkNo, v]));
    expect(byNo.get(first)).toMatchObject({ match: false, antiJoinMissing: 1 });
    expect(keys(byNo.get(first)!)).toEqual({ missing: ['55'], extra: ['200'], differing: ['1234'] });
    expect(byNo.get(first)!.sourceRows).toBe(byNo.get(first)!.targetRows); // one missing, one extra: counts alone agree
    expect(byNo.get(other)).toMatchObject({ match: false, antiJoinMissing: 0 });
    expect(keys(byNo.get(other)!)).toEqual({ missing: [], extra: [], differing: ['4010'] });
    const untouched = results.filter((v) => v.chunkNo !== first && v.chunkNo !== other);
    expect(untouched.map((v) => [v.match, keys(v)])).toEqual([[true, none]]);

    // What the run reports later is read from the progress table: the same keys are there.
    const rows = await pg.query<{
      chunk_no: number;
      verify_status: string;
      mismatch: { missing: { keys: string[] }; extra: { keys: string[] }; differing: { keys: string[] } } | null;
    }>(
      `SELECT chunk_no, verify_status, mismatch FROM ${schema}.opsflow_migration_chunks WHERE migration_name = $1 ORDER BY chunk_no`,
      [input.name],
    );
    expect(
      rows.map((r) => [
        r.chunk_no,
        r.verify_status,
        r.mismatch && [r.mismatch.missing.keys, r.mismatch.extra.keys, r.mismatch.differing.keys],
      ]),
    ).toEqual(
      chunks.map((c) =>
        c.no === first
          ? [c.no, 'mismatch', [['55'], ['200'], ['1234']]]
          : c.no === other
            ? [c.no, 'mismatch', [[], [], ['4010']]]
            : [c.no, 'match', null],
      ),
    );
  });

  test('two databases (no anti-join possible): the same differences are found by checksums and bisection alone', async () => {
    const schema = await pg.schema();
    const targetSchema = await pg.schema(otherDb);
    await seedOldUsers(pg, schema, ROWS);
    await createNewUsers(pg, targetSchema, otherDb);
    const input = runbookInput('verify-two-db', schema, {
      chunkSize: 2_500,
      target: { database: 'other', table: `${targetSchema}.new_users` },
      stateSchema: targetSchema,
    });
    const { shape, chunks } = await copied(input);
    expect(shape.sameDatabase).toBe(false);
    await feedDifferences(targetSchema, otherDb);
    const results = await runActivity(acts.verifyMigrationChunks, input, shape, chunks);
    const first = chunkOf(chunks, 55);
    const other = chunkOf(chunks, 4010);
    expect(results.map((v) => [v.chunkNo, v.match, v.antiJoinMissing, keys(v)])).toEqual(
      chunks.map((c) =>
        c.no === first
          ? [c.no, false, undefined, { missing: ['55'], extra: ['200'], differing: ['1234'] }]
          : c.no === other
            ? [c.no, false, undefined, { missing: [], extra: [], differing: ['4010'] }]
            : [c.no, true, undefined, none],
      ),
    );
  });

  test("a row differing in one column of each kind (text, integer, timestamptz, NULL against its type's stand-in value, a NULL moved to another column) is reported by key", async () => {
    const schema = await pg.schema();
    await seedOldUsers(pg, schema, ROWS);
    await createNewUsers(pg, schema);
    const input = runbookInput('verify-each-kind', schema, { chunkSize: 2_500 });
    const { shape, chunks } = await copied(input);
    const q = (sql: string) => pg.query(sql, []);
    const src = `${schema}.old_users`;
    const tgt = `${schema}.new_users`;
    await q(`UPDATE ${tgt} SET username = username || 'x' WHERE user_id = 101`);
    await q(`UPDATE ${tgt} SET status = status + 1 WHERE user_id = 102`);
    await q(`UPDATE ${tgt} SET created_at = created_at + interval '1 microsecond' WHERE user_id = 103`);
    // NULL against the value a NULL is hashed as (its type's stand-in): text, integer, timestamptz.
    await q(`UPDATE ${src} SET email_address = NULL WHERE id = 104`);
    await q(`UPDATE ${tgt} SET email = '' WHERE user_id = 104`);
    await q(`UPDATE ${src} SET user_status = NULL WHERE id = 105`);
    await q(`UPDATE ${tgt} SET status = 0 WHERE user_id = 105`);
    await q(`UPDATE ${src} SET modify_time = NULL WHERE id = 106`);
    await q(`UPDATE ${tgt} SET updated_at = 'epoch' WHERE user_id = 106`);
    // One NULL in each row, in another column: the values hashed are the same, the NULLs' places differ.
    await q(`UPDATE ${src} SET email_address = NULL, phone_number = '' WHERE id = 107`);
    await q(`UPDATE ${tgt} SET email = '', phone = NULL WHERE user_id = 107`);
    // A value where NULL belongs, and the other way round.
    await q(`UPDATE ${tgt} SET phone = '+81-90-00000108' WHERE user_id = 108`); // 108's phone is NULL in the source
    await q(`UPDATE ${tgt} SET status = NULL WHERE user_id = 109`);
    const results = await runActivity(acts.verifyMigrationChunks, input, shape, chunks);
    const first = chunkOf(chunks, 101);
    expect(results.map((v) => [v.chunkNo, v.match, keys(v)])).toEqual(
      chunks.map((c) =>
        c.no === first
          ? [
              c.no,
              false,
              { missing: [], extra: [], differing: ['101', '102', '103', '104', '105', '106', '107', '108', '109'] },
            ]
          : [c.no, true, none],
      ),
    );
  });

  test("two rows swapping a column's values (text in one chunk, an integer in another) fail their chunks' checksums and are named", async () => {
    const schema = await pg.schema();
    await seedOldUsers(pg, schema, ROWS);
    await createNewUsers(pg, schema);
    const input = runbookInput('verify-swap', schema, { chunkSize: 2_500 });
    const { shape, chunks } = await copied(input);
    const tgt = `${schema}.new_users`;
    // Counts and every column's multiset of values stay the same: only which row holds what changes.
    await pg.query(
      `UPDATE ${tgt} t SET email = o.email FROM ${tgt} o WHERE (t.user_id, o.user_id) IN ((3002, 3003), (3003, 3002))`,
    );
    await pg.query(
      `UPDATE ${tgt} t SET status = o.status FROM ${tgt} o WHERE (t.user_id, o.user_id) IN ((5505, 5506), (5506, 5505))`,
    );
    const results = await runActivity(acts.verifyMigrationChunks, input, shape, chunks);
    const [a, b] = [chunkOf(chunks, 3002), chunkOf(chunks, 5505)];
    expect(results.map((v) => [v.chunkNo, v.match, v.sourceRows === v.targetRows, keys(v)])).toEqual(
      chunks.map((c) =>
        c.no === a
          ? [c.no, false, true, { missing: [], extra: [], differing: ['3002', '3003'] }]
          : c.no === b
            ? [c.no, false, true, { missing: [], extra: [], differing: ['5505', '5506'] }]
            : [c.no, true, true, none],
      ),
    );
  });

  test('a table wider than a NULL bitmap word (33 columns): NULL against 0 and a NULL moved to the same bit of the next word are reported by key', async () => {
    const schema = await pg.schema();
    const cols = Array.from({ length: 33 }, (_, i) => `c${i + 1}`);
    for (const t of ['src', 'tgt'])
      await pg.query(`CREATE TABLE ${schema}.${t} (id bigint PRIMARY KEY, ${cols.map((c) => `${c} int`).join(', ')})`);
    await pg.query(
      `INSERT INTO ${schema}.src SELECT g, ${cols.map((_, i) => `g * 100 + ${i}`).join(', ')} FROM generate_series(1, 20) g`,
    );
    await pg.query(`INSERT INTO ${schema}.tgt SELECT * FROM ${schema}.src`);
    await pg.query(`UPDATE ${schema}.src SET c30 = NULL WHERE id = 3`);
    await pg.query(`UPDATE ${schema}.tgt SET c30 = 0 WHERE id = 3`);
    // c1 is the bitmap's bit 1 of the first word, c29 bit 1 of the second; the values hashed are alike.
    await pg.query(`UPDATE ${schema}.src SET c1 = NULL, c29 = 0 WHERE id = 4`);
    await pg.query(`UPDATE ${schema}.tgt SET c1 = 0, c29 = NULL WHERE id = 4`);
    const input: DataMigrationInput = {
      name: 'verify-wide',
      source: { database: 'app', table: `${schema}.src` },
      target: { database: 'app', table: `${schema}.tgt` },
      key: 'id',
      columns: Object.fromEntries([['id', 'id'], ...cols.map((c) => [c, c])]),
      mode: 'verify',
      stateSchema: schema,
    };
    await runActivity(acts.openMigrationLog, input, 'run-wide');
    const shape = await runActivity(acts.preflightMigration, input);
    await runActivity(acts.planMigration, input, shape, 'run-wide');
    const { chunks } = await runActivity(acts.nextMigrationChunks, input, 'verify', -1, 100);
    const results = await runActivity(acts.verifyMigrationChunks, input, shape, chunks);
    expect(results.map(keys)).toEqual([{ missing: [], extra: [], differing: ['3', '4'] }]);
  });

  test('every type hashed by value (boolean, date, time, uuid, bytea, character(n), integer, timestamp(3), timestamptz), mapped from text: alike rows match, NULLs included, and a change in each is named', async () => {
    const schema = await pg.schema();
    const types: [string, string, string][] = [
      // column, target type, a source text and its change
      ['b', 'boolean', `CASE WHEN g % 2 = 0 THEN 'true' ELSE 'false' END`],
      ['d', 'date', `(date '2024-01-01' + g)::text`],
      ['tm', 'time', `(time '10:00' + g * interval '1 second')::text`],
      ['u', 'uuid', `md5(g::text)::uuid::text`],
      ['by', 'bytea', `'\\x' || lpad(to_hex(g), 4, '0')`],
      ['ch', 'character(5)', `'c' || g`],
      ['i', 'integer', `g::text`],
      ['ts', 'timestamp(3) without time zone', `(timestamp '2024-01-01' + g * interval '1.5 ms')::text`],
      ['tz', 'timestamp with time zone', `(timestamptz '2024-01-01 00:00+00' + g * interval '1 hour')::text`],
    ];
    await pg.query(`CREATE TABLE ${schema}.src (id bigint PRIMARY KEY, ${types.map(([c]) => `${c} text`).join(', ')})`);
    await pg.query(
      `CREATE TABLE ${schema}.tgt (id bigint PRIMARY KEY, ${types.map(([c, t]) => `${c} ${t}`).join(', ')})`,
    );
    await pg.query(
      `INSERT INTO ${schema}.src SELECT g, ${types.map(([, , e]) => `CASE WHEN g % 7 = 0 THEN NULL ELSE ${e} END`).join(', ')} FROM generate_series(1, 40) g`,
    );
    await pg.query(
      `INSERT INTO ${schema}.tgt SELECT id, ${types.map(([c, t]) => `${c}::${t}`).join(', ')} FROM ${schema}.src`,
    );
    const input: DataMigrationInput = {
      name: 'verify-types',
      source: { database: 'app', table: `${schema}.src` },
      target: { database: 'app', table: `${schema}.tgt` },
      key: 'id',
      columns: Object.fromEntries([['id', 'id'], ...types.map(([c, t]) => [c, `${c}::${t}`])]),
      mode: 'verify',
      stateSchema: schema,
    };
    await runActivity(acts.openMigrationLog, input, 'run-types');
    const shape = await runActivity(acts.preflightMigration, input);
    await runActivity(acts.planMigration, input, shape, 'run-types');
    const { chunks } = await runActivity(acts.nextMigrationChunks, input, 'verify', -1, 100);
    const clean = await runActivity(acts.verifyMigrationChunks, input, shape, chunks);
    expect(clean.map((v) => [v.match, keys(v)])).toEqual([[true, none]]);
    const changes = [
      'b = NOT b',
      `d = d + 1`,
      `tm = tm + interval '1 microsecond'`,
      `u = md5('other')::uuid`,
      `by = by || '\\x00'::bytea`,
      `ch = 'C' || substr(ch, 2)`,
      'i = i + 1',
      `ts = ts + interval '1 ms'`,
      `tz = tz + interval '1 microsecond'`,
    ];
    const changed = [1, 2, 3, 4, 5, 6, 8, 9, 10]; // rows without NULLs (every 7th is all NULL)
    for (const [n, change] of changes.entries())
      await pg.query(`UPDATE ${schema}.tgt SET ${change} WHERE id = ${changed[n]}`);
    const results = await runActivity(acts.verifyMigrationChunks, input, shape, chunks);
    expect(results.map(keys)).toEqual([{ missing: [], extra: [], differing: changed.map(String) }]);
  });

  test("an activity's result lists at most reportKeys keys of each kind across its chunks; each chunk's own are in the progress table", async () => {
    const schema = await pg.schema();
    await seedOldUsers(pg, schema, ROWS);
    await createNewUsers(pg, schema);
    const input = runbookInput('verify-bounded', schema, { chunkSize: 2_500, reportKeys: 2 });
    const { shape, chunks } = await copied(input);
    await pg.query(`DELETE FROM ${schema}.new_users WHERE user_id IN (10, 11, 12, 3001, 3003, 5801)`);
    const results = await runActivity(acts.verifyMigrationChunks, input, shape, chunks);
    expect(results.map((v) => [v.chunkNo, v.mismatches.missing])).toEqual([
      [chunks[0].no, { count: 3, keys: ['10', '11'] }],
      [chunks[1].no, { count: 2, keys: [] }],
      [chunks[2].no, { count: 1, keys: [] }],
    ]);
    const rows = await pg.query<{ chunk_no: number; mismatch: { missing: { count: number; keys: string[] } } }>(
      `SELECT chunk_no, mismatch FROM ${schema}.opsflow_migration_chunks WHERE migration_name = $1 ORDER BY chunk_no`,
      [input.name],
    );
    expect(rows.map((r) => r.mismatch.missing)).toEqual([
      { count: 3, keys: ['10', '11'] },
      { count: 2, keys: ['3001', '3003'] },
      { count: 1, keys: ['5801'] },
    ]);
  });

  test('a retried activity reads back the chunks its first attempt recorded as matching, and verifies a mismatching one afresh', async () => {
    const schema = await pg.schema();
    await seedOldUsers(pg, schema, ROWS);
    await createNewUsers(pg, schema);
    const input = runbookInput('verify-retry', schema, { chunkSize: 2_500 });
    const { shape, chunks } = await copied(input);
    await pg.query(`DELETE FROM ${schema}.new_users WHERE user_id = 55`);
    const first = await runActivity(acts.verifyMigrationChunks, input, shape, chunks);
    const bad = chunkOf(chunks, 55);
    expect(first.map((v) => v.match)).toEqual(chunks.map((c) => c.no !== bad));
    // Between the attempts a row of a chunk recorded as matching changes, and the missing row comes back.
    await pg.query(`UPDATE ${schema}.new_users SET phone = 'changed' WHERE user_id = 4010`);
    await pg.query(
      `INSERT INTO ${schema}.new_users (user_id, username, email, phone, created_at, updated_at, status)
       SELECT id, login_name, email_address, phone_number, create_time, modify_time, user_status FROM ${schema}.old_users WHERE id = 55`,
    );
    const retry = (await new MockActivityEnvironment({ attempt: 2 }).run(
      acts.verifyMigrationChunks,
      input,
      shape,
      chunks,
    )) as ChunkVerification[];
    // The matching chunks are the first attempt's (read back: 4010's change is not looked at), the
    // mismatching one was verified again and now matches.
    expect(retry.map((v) => [v.chunkNo, v.match, v.sourceChecksum])).toEqual(
      first.map((v) => [v.chunkNo, true, v.sourceChecksum]),
    );
    expect(retry.find((v) => v.chunkNo === chunkOf(chunks, 4010))!.targetChecksum).toBe(
      first.find((v) => v.chunkNo === chunkOf(chunks, 4010))!.targetChecksum,
    );
    // A first attempt never trusts a recorded verdict: the same call as attempt 1 finds 4010.
    const fresh = await runActivity(acts.verifyMigrationChunks, input, shape, chunks);
    expect(fresh.filter((v) => !v.match).map(keys)).toEqual([{ missing: [], extra: [], differing: ['4010'] }]);
  });

  test('a verify-only run on an unfinished copy plan refuses, naming the plan and how to resume, and writes nothing; the resumed copy then verifies every chunk', async () => {
    const schema = await pg.schema();
    await seedOldUsers(pg, schema, ROWS);
    await createNewUsers(pg, schema);
    const copy = runbookInput('verify-unfinished', schema, { chunkSize: 2_500 });
    const shape = await runActivity(acts.preflightMigration, copy);
    await runActivity(acts.openMigrationLog, copy, 'run-copy-1');
    await runActivity(acts.planMigration, copy, shape, 'run-copy-1');
    const toCopy = await runActivity(acts.nextMigrationChunks, copy, 'copy', -1, 100);
    expect(toCopy.chunks.length).toBe(3);
    // The first copy stops after one chunk (cancelled, or its worker gone for good).
    await runActivity(acts.copyMigrationChunks, copy, shape, toCopy.chunks.slice(0, 1), 'run-copy-1');
    const progress = () =>
      pg.query(
        `SELECT chunk_no, status, rows_copied, verify_status FROM ${schema}.opsflow_migration_chunks
          WHERE migration_name = 'verify-unfinished' ORDER BY chunk_no`,
      );
    const plans = () => pg.query(`SELECT kind, planned_by, chunk_count FROM ${schema}.opsflow_migration_plans`);
    const [chunksBefore, plansBefore] = [await progress(), await plans()];

    // With the runbook's flag the two uncopied chunks hold no flagged row on either side: verified,
    // they would match, and the run would log VERIFIED on a third of the rows.
    const verify = { ...copy, mode: 'verify' as const };
    await runActivity(acts.openMigrationLog, verify, 'run-verify');
    await expect(runActivity(acts.planMigration, verify, shape, 'run-verify')).rejects.toMatchObject({
      type: 'PlanUnfinished',
      nonRetryable: true,
      message: expect.stringMatching(/unfinished copy plan \(1\/3 chunks copied, planned by run-copy-1\).*mode "copy"/),
    });
    expect([await progress(), await plans()]).toEqual([chunksBefore, plansBefore]);

    // Verdicts left on the plan (as a verify-only run did before it was refused) are dropped by
    // the resumed copy, whose verification takes every chunk, the one copied before included.
    await pg.query(`UPDATE ${schema}.opsflow_migration_chunks SET verify_status = 'match'`);
    await runActivity(acts.openMigrationLog, copy, 'run-copy-2');
    const resumed = await runActivity(acts.planMigration, copy, shape, 'run-copy-2');
    expect([resumed.resumed, resumed.chunksDone, resumed.chunks]).toEqual([true, 1, 3]);
    const rest = await runActivity(acts.nextMigrationChunks, copy, 'copy', -1, 100);
    expect(rest.chunks.map((c) => c.no)).toEqual(toCopy.chunks.slice(1).map((c) => c.no));
    await runActivity(acts.copyMigrationChunks, copy, shape, rest.chunks, 'run-copy-2');
    const toVerify = await runActivity(acts.nextMigrationChunks, copy, 'verify', -1, 100);
    expect(toVerify.chunks).toEqual(toCopy.chunks);
    const results = await runActivity(acts.verifyMigrationChunks, copy, shape, toVerify.chunks);
    expect(results.map((v) => v.match)).toEqual([true, true, true]);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.new_users`)).toBe(migratable(ROWS));

    // The copy finished, a verify-only run is welcome.
    await runActivity(acts.openMigrationLog, verify, 'run-verify-2');
    const planned = await runActivity(acts.planMigration, verify, shape, 'run-verify-2');
    expect([planned.resumed, planned.chunks]).toEqual([false, 3]);
  });

  test('values equal as numbers, floats or under a case-blind collation but written differently (1.0 and 1.00, -0 and 0, n9 and N9) are reported as differing, as their text differs', async () => {
    const schema = await pg.schema();
    await pg.query(
      `CREATE COLLATION ${schema}.case_blind (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`,
    );
    await pg.query(`CREATE TABLE ${schema}.src (id bigint PRIMARY KEY, amount numeric, score float8, note text)`);
    await pg.query(
      `CREATE TABLE ${schema}.tgt (id bigint PRIMARY KEY, amount numeric, score float8, note text COLLATE ${schema}.case_blind)`,
    );
    await pg.query(`INSERT INTO ${schema}.src SELECT g, g * 1.5, g / 4.0, 'n' || g FROM generate_series(1, 50) g`);
    await pg.query(`INSERT INTO ${schema}.tgt SELECT * FROM ${schema}.src`);
    await pg.query(`UPDATE ${schema}.src SET amount = 1.0, score = 0 WHERE id IN (7, 8)`);
    await pg.query(`UPDATE ${schema}.tgt SET amount = 1.00, score = 0 WHERE id = 7`);
    await pg.query(`UPDATE ${schema}.tgt SET amount = 1.0, score = '-0' WHERE id = 8`);
    await pg.query(`UPDATE ${schema}.tgt SET note = 'N9' WHERE id = 9`);
    await pg.query(`UPDATE ${schema}.tgt SET note = 'N9' WHERE id = 9`);
    const input: DataMigrationInput = {
      name: 'verify-numeric-text',
      source: { database: 'app', table: `${schema}.src` },
      target: { database: 'app', table: `${schema}.tgt` },
      key: 'id',
      columns: { id: 'id', amount: 'amount', score: 'score', note: 'note' },
      mode: 'verify',
      stateSchema: schema,
    };
    const runKey = 'run-numeric';
    await runActivity(acts.openMigrationLog, input, runKey);
    const shape = await runActivity(acts.preflightMigration, input);
    await runActivity(acts.planMigration, input, shape, runKey);
    const { chunks } = await runActivity(acts.nextMigrationChunks, input, 'verify', -1, 100);
    const results = await runActivity(acts.verifyMigrationChunks, input, shape, chunks);
    expect(results.map(keys)).toEqual([{ missing: [], extra: [], differing: ['7', '8', '9'] }]);
  });
});

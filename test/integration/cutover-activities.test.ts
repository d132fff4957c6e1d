import { randomBytes } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import Redis from 'ioredis';
import { cutoverActivities, type BatchRef } from '../../src/activities/cutover';
import { parseConfigText } from '../../src/config/load';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, redisConnection, requirePostgres, requireRedis } from '../helpers/services';
import { runActivity } from '../helpers/activity';
import { RunbookApis, idsWhere, seedUsers, userOf } from '../helpers/cutover-fixtures';
import { applyMigrations } from '../../src/activities/systems/postgres/store-migrations';
import { cutoverStore } from '../../src/activities/cutover-store/migrations';

const N = 30_000;
const TOKEN = `tok-${randomBytes(4).toString('hex')}`;

/**
 * The cutover's activities against the real parts: a users table and the store in the machine's
 * PostgreSQL, the routing hash in its Redis, and the runbook's user and routing APIs on a loopback
 * server that checks the bearer token.
 */
describe('cutover activities against real PostgreSQL, Redis and HTTP APIs', () => {
  const pg = new PgScratch('cutover_acts');
  const redis = new Redis({ ...redisConnection, lazyConnect: true });
  const apis = new RunbookApis(
    TOKEN,
    Array.from({ length: 2_000 }, (_, k) => userOf(k + 1)),
  );
  const service = `portal-${process.pid}-${randomBytes(3).toString('hex')}`;
  const key = `opsflow:routes:${service}`;
  let acts: ReturnType<typeof cutoverActivities>;
  let seq = 0;
  const runKey = () => `cutover-${service}/run-${++seq}`;

  const configWith = (schema: string, table: string, extra: object = {}) =>
    parseConfigText(
      JSON.stringify({
        postgres: { main: { ...pgConnection } },
        redis: { cache: { host: redisConnection.host, port: redisConnection.port } },
        directories: {
          staff: { type: 'postgres', postgres: 'main', table, pageSize: 4_000 },
          api: { type: 'http', url: apis.url, token: { env: 'CUTOVER_TEST_TOKEN' }, pageSize: 150 },
        },
        routers: {
          gateway: { type: 'redis', redis: 'cache', chunkSize: 1_000, readBackSample: 200 },
          legacy: { type: 'http', url: apis.url, token: { env: 'CUTOVER_TEST_TOKEN' }, concurrency: 8, retries: 3 },
          badtoken: { type: 'http', url: apis.url, token: { env: 'CUTOVER_TEST_WRONG' }, retries: 3, concurrency: 4 },
          writeonly: {
            type: 'http',
            url: apis.url,
            token: { env: 'CUTOVER_TEST_TOKEN' },
            concurrency: 8,
            readBack: false,
          },
        },
        cutover: { store: { postgres: 'main', schema } },
        ...extra,
      }),
      'test.json',
    );
  let schema: string;
  let table: string;

  beforeAll(async () => {
    await Promise.all([requirePostgres(), requireRedis()]);
    process.env.CUTOVER_TEST_TOKEN = TOKEN;
    process.env.CUTOVER_TEST_WRONG = 'not-the-token';
    await apis.start();
    await redis.connect();
    schema = await pg.schema();
    table = await seedUsers(pg, schema, N);
    acts = cutoverActivities(configWith(schema, table));
  }, 60_000);

  afterAll(async () => {
    await redis.del(key).catch(() => undefined);
    redis.disconnect();
    await apis.stop();
    await pg.drop();
  });

  afterEach(() => redis.del(key));

  const members = (rk: string, batch: number) =>
    pg
      .query<{ user_id: string }>(
        `SELECT user_id FROM ${schema}.cutover_members WHERE run_key = $1 AND batch = $2 ORDER BY user_id`,
        [rk, batch],
      )
      .then((r) => r.map((x) => x.user_id));
  const sorted = (xs: string[]) => [...xs].sort();

  test('snapshot once, priors recorded, the batch moved and read back, an overlapping later cohort excludes who moved, restore puts back exactly what was there', async () => {
    const rk = runKey();
    const it = idsWhere(N, (u) => u.department === 'IT');
    const ref: BatchRef = { runKey: rk, service, router: 'gateway', batch: 0 };
    // Some users had routes of their own before: a canary IT group, and a non-IT user.
    await redis.hset(key, it[0], 'canary', it[1], 'canary', '2', 'old_system');

    const snap = await runActivity(acts.cutoverSnapshot, {
      runKey: rk,
      directory: 'staff',
      batch: 0,
      cohort: { department: ['IT'] },
    });
    expect(snap).toEqual({ members: it.length, listed: it.length, alreadyTaken: false });
    expect(await members(rk, 0)).toEqual(sorted(it));
    // Not taken again: a user added to IT now is not in the batch.
    await pg.query(`UPDATE ${table} SET department = 'IT' WHERE id = 2`);
    try {
      expect(
        await runActivity(acts.cutoverSnapshot, {
          runKey: rk,
          directory: 'staff',
          batch: 0,
          cohort: { department: ['IT'] },
        }),
      ).toEqual({
        members: it.length,
        listed: it.length,
        alreadyTaken: true,
      });
    } finally {
      await pg.query(`UPDATE ${table} SET department = $1 WHERE id = 2`, [userOf(2).department]);
    }

    expect(await runActivity(acts.cutoverRecordPriors, ref)).toEqual({ written: it.length, verified: it.length });
    expect(await runActivity(acts.cutoverMove, ref)).toEqual({ written: it.length, verified: it.length });
    const all = await redis.hgetall(key);
    expect(
      Object.keys(all)
        .filter((id) => all[id] === 'new_system')
        .sort(),
    ).toEqual(sorted(it));
    expect(all['2']).toBe('old_system');
    expect(await runActivity(acts.cutoverSampleRoutes, { ...ref, expect: 'new', sample: 200 })).toEqual({
      sampled: 200,
      matching: 200,
      mismatches: [],
    });

    // Managers cross IT: the IT managers moved in batch 0 are not in batch 1.
    const managers = idsWhere(N, (u) => u.role === 'manager' && u.department !== 'IT');
    const snap1 = await runActivity(acts.cutoverSnapshot, {
      runKey: rk,
      directory: 'staff',
      batch: 1,
      cohort: { role: ['manager'] },
    });
    expect(managers.length).toBeGreaterThan(0);
    expect(snap1).toEqual({
      members: managers.length,
      listed: idsWhere(N, (u) => u.role === 'manager').length,
      alreadyTaken: false,
    });
    expect(snap1.listed - snap1.members).toBe(idsWhere(N, (u) => u.role === 'manager' && u.department === 'IT').length);
    expect(await members(rk, 1)).toEqual(sorted(managers));

    expect(await runActivity(acts.cutoverRestore, ref)).toEqual({ written: it.length, verified: it.length });
    const after = await redis.hgetall(key);
    expect(after).toEqual({ [it[0]]: 'canary', [it[1]]: 'canary', '2': 'old_system' });
    expect(await runActivity(acts.cutoverSampleRoutes, { ...ref, expect: 'prior', sample: 100 })).toMatchObject({
      sampled: 100,
      matching: 100,
    });
  }, 60_000);

  test('an unfinished snapshot is listed anew; a move resumed from its heartbeat cursor writes only what is after it', async () => {
    const rk = runKey();
    const ref: BatchRef = { runKey: rk, service, router: 'gateway', batch: 0 };
    // The store's tables appear with the first activity; then a page of an attempt that died.
    await runActivity(acts.cutoverSnapshot, {
      runKey: `${rk}-warm`,
      directory: 'staff',
      batch: 9,
      cohort: { department: ['nobody'] },
    });
    await pg.query(`INSERT INTO ${schema}.cutover_runs (run_key) VALUES ($1)`, [rk]);
    await pg.query(
      `INSERT INTO ${schema}.cutover_member_pages (run_id, batch, after_seq, n, user_ids) SELECT id, 0, 0, 1, '{ghost}' FROM ${schema}.cutover_runs WHERE run_key = $1`,
      [rk],
    );
    const sales = idsWhere(N, (u) => u.department === 'Sales');
    const snap = await runActivity(acts.cutoverSnapshot, {
      runKey: rk,
      directory: 'staff',
      batch: 0,
      cohort: { department: ['Sales'] },
    });
    expect(snap.members).toBe(sales.length);
    expect(await members(rk, 0)).toEqual(sorted(sales));
    await runActivity(acts.cutoverRecordPriors, ref);

    const cursor = { afterSeq: 2_000, written: 2_000, verified: 2_000 };
    const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: cursor });
    const beats: unknown[] = [];
    env.on('heartbeat', (d) => beats.push(d));
    const r = (await env.run(acts.cutoverMove, ref)) as { written: number; verified: number };
    expect(r).toEqual({ written: sales.length, verified: sales.length });
    expect(await redis.hlen(key)).toBe(sales.length - 2_000);
    const firstSeqs = await pg.query<{ user_id: string }>(
      `SELECT user_id FROM ${schema}.cutover_members WHERE run_key = $1 AND batch = 0 AND seq <= 2000`,
      [rk],
    );
    expect(await redis.hmget(key, ...firstSeqs.slice(0, 50).map((x) => x.user_id))).toEqual(Array(50).fill(null));
    expect(beats.at(-1)).toMatchObject({ afterSeq: sales.length, written: sales.length });
  }, 60_000);

  test("a snapshot in the store's own database resumes from its heartbeated cursor: what was stored before it is kept, a page committed after it is listed again", async () => {
    const rk = runKey();
    const sales = idsWhere(N, (u) => u.department === 'Sales');
    expect(sales.length).toBe(6_000);
    // An attempt that stored every page (4 000 ids each) but whose last beat said 4 000 listed.
    await runActivity(acts.cutoverSnapshot, {
      runKey: rk,
      directory: 'staff',
      batch: 0,
      cohort: { department: ['Sales'] },
    });
    await pg.query(`DELETE FROM ${schema}.cutover_snapshots WHERE run_key = $1`, [rk]);
    // Pages of 4 000: seq 5 000 is the second page's 1 000th id.
    const stored = await pg.query(
      `UPDATE ${schema}.cutover_member_pages SET user_ids[1000] = 'ghost' WHERE run_id = (SELECT id FROM ${schema}.cutover_runs WHERE run_key = $1) AND batch = 0 AND after_seq = 4000 RETURNING n`,
      [rk],
    );
    expect(stored).toEqual([{ n: 2_000 }]);
    const cursor = { listed: 4_000, stored: 4_000, after: sales[3_999], layout: 'pages' };
    // The directory changes under the snapshot: a user before the cursor leaves Sales. Listed anew,
    // the batch would lose them; resumed, it keeps them.
    const first = sales[0];
    await pg.query(`UPDATE ${table} SET department = 'HR' WHERE id = $1`, [first]);
    try {
      const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: cursor });
      const beats: unknown[] = [];
      env.on('heartbeat', (d) => beats.push(d));
      const r = await env.run(acts.cutoverSnapshot, {
        runKey: rk,
        directory: 'staff',
        batch: 0,
        cohort: { department: ['Sales'] },
      });
      expect(r).toEqual({ members: 6_000, listed: 6_000, alreadyTaken: false });
      expect(beats.at(-1)).toMatchObject({ listed: 6_000, stored: 6_000, after: sales[5_999] });
    } finally {
      await pg.query(`UPDATE ${table} SET department = 'Sales' WHERE id = $1`, [first]);
    }
    expect(await members(rk, 0)).toEqual(sorted(sales));
  }, 60_000);

  test('a directory whose id column has no unique index: each user stored once', async () => {
    const rk = runKey();
    const dups = `${schema}.dup_users`;
    await pg.query(`CREATE TABLE ${dups} (id bigint NOT NULL, department text NOT NULL, role text NOT NULL)`);
    await pg.query(`INSERT INTO ${dups} SELECT i / 2, 'IT', 'staff' FROM generate_series(2, 601) AS i`);
    const withDups = cutoverActivities(
      configWith(schema, table, {
        directories: { dups: { type: 'postgres', postgres: 'main', table: dups, pageSize: 100 } },
      }),
    );
    const snap = await runActivity(withDups.cutoverSnapshot, {
      runKey: rk,
      directory: 'dups',
      batch: 0,
      cohort: { department: ['IT'] },
    });
    expect(snap.members).toBe(300);
    expect(await members(rk, 0)).toEqual(sorted(Array.from({ length: 300 }, (_, k) => String(k + 1))));
  }, 60_000);

  test('ids holding the separator the store joins a chunk with, or a comma, and a prior route that is the empty string: each user moved and put back exactly', async () => {
    const rk = runKey();
    const odd = `${schema}.odd_users`;
    const special = ['a\x01b', '\x01', 'c,d', '"q"', 'x y', '{e}', 'NULL'];
    await pg.query(`CREATE TABLE ${odd} (id text PRIMARY KEY, department text NOT NULL, role text NOT NULL)`);
    await pg.query(
      `INSERT INTO ${odd} SELECT 'u' || i, 'IT', 'staff' FROM generate_series(1, 2500) AS i UNION ALL SELECT x, 'IT', 'staff' FROM unnest($1::text[]) AS x`,
      [special],
    );
    const withOdd = cutoverActivities(
      configWith(schema, table, {
        directories: { odd: { type: 'postgres', postgres: 'main', table: odd, pageSize: 1_500 } },
      }),
    );
    const ref: BatchRef = { runKey: rk, service, router: 'gateway', batch: 0 };
    const all = [...special, ...Array.from({ length: 2500 }, (_, k) => `u${k + 1}`)];
    // Routes of their own before: one empty (not the same as none), one canary.
    await redis.hset(key, 'a\x01b', '', 'c,d', 'canary', 'u7', 'canary');
    const snap = await runActivity(withOdd.cutoverSnapshot, { runKey: rk, directory: 'odd', batch: 0, cohort: 'rest' });
    expect(snap.members).toBe(all.length);
    await runActivity(withOdd.cutoverRecordPriors, ref);
    expect(await runActivity(withOdd.cutoverMove, ref)).toEqual({ written: all.length, verified: all.length });
    const moved = await redis.hgetall(key);
    expect(sorted(Object.keys(moved))).toEqual(sorted(all));
    expect(Object.values(moved).every((v) => v === 'new_system')).toBe(true);
    expect(await runActivity(withOdd.cutoverRestore, ref)).toEqual({ written: all.length, verified: all.length });
    expect(await redis.hgetall(key)).toEqual({ 'a\x01b': '', 'c,d': 'canary', u7: 'canary' });
  }, 60_000);

  test('the HTTP directory and router: bearer token, paging, 429/503 retried, prior read back, refused tokens are non-retryable', async () => {
    const rk = runKey();
    const ref: BatchRef = { runKey: rk, service, router: 'legacy', batch: 0 };
    const hr = idsWhere(2_000, (u) => u.department === 'HR');
    apis.routes.set(hr[0], 'canary');
    const snap = await runActivity(acts.cutoverSnapshot, {
      runKey: rk,
      directory: 'api',
      batch: 0,
      cohort: { department: ['HR'] },
    });
    expect(snap).toEqual({ members: hr.length, listed: hr.length, alreadyTaken: false });
    expect(await members(rk, 0)).toEqual(sorted(hr));

    apis.failFirst = 2;
    await runActivity(acts.cutoverRecordPriors, ref);
    expect(await runActivity(acts.cutoverMove, ref)).toEqual({ written: hr.length, verified: hr.length });
    expect(hr.every((id) => apis.routes.get(id) === 'new_system')).toBe(true);
    expect(hr.every((id) => apis.puts.get(id) === 3)).toBe(true);
    expect(await runActivity(acts.cutoverRestore, ref)).toEqual({ written: hr.length, verified: hr.length });
    // The API cannot delete a route: no prior route means the old system.
    expect(apis.routes.get(hr[0])).toBe('canary');
    expect(hr.slice(1).every((id) => apis.routes.get(id) === 'old_system')).toBe(true);
    apis.failFirst = 0;

    // A batch whose move is done is not moved again: the refused token is tried on another run's.
    const other: BatchRef = { ...ref, runKey: runKey(), router: 'badtoken' };
    await runActivity(acts.cutoverSnapshot, {
      runKey: other.runKey,
      directory: 'api',
      batch: 0,
      cohort: { department: ['HR'] },
    });
    const unauthorizedBefore = apis.unauthorized;
    const bad = await runActivity(acts.cutoverMove, other).catch((e) => e);
    expect(bad).toBeInstanceOf(ApplicationFailure);
    expect(bad).toMatchObject({ type: 'RouterRejected', nonRetryable: true });
    expect(bad.message).toMatch(/answered HTTP 401/);
    // Refused at once, not retried, and no new request after the first refusal (4 were in flight).
    expect(apis.unauthorized - unauthorizedBefore).toBeGreaterThanOrEqual(1);
    expect(apis.unauthorized - unauthorizedBefore).toBeLessThanOrEqual(4);
    expect(apis.routes.get(hr[1])).toBe('old_system');

    const badDir = cutoverActivities(
      configWith(schema, table, {
        directories: { api: { type: 'http', url: apis.url, token: { env: 'CUTOVER_TEST_WRONG' } } },
      }),
    );
    const err = await runActivity(badDir.cutoverSnapshot, {
      runKey: runKey(),
      directory: 'api',
      batch: 0,
      cohort: 'rest',
    }).catch((e) => e);
    expect(err).toMatchObject({ type: 'DirectoryRejected', nonRetryable: true });
    expect(err.message).toMatch(/HTTP 401 to POST \/users\/filter/);
  }, 60_000);

  test('a user whose routing calls run out of retries fails its chunk only: the next attempt, with no heartbeat on the server, starts at that chunk', async () => {
    const rk = runKey();
    const ref: BatchRef = { runKey: rk, service, router: 'legacy', batch: 0 };
    const finance = idsWhere(2_000, (u) => u.department === 'Finance');
    await runActivity(acts.cutoverSnapshot, {
      runKey: rk,
      directory: 'api',
      batch: 0,
      cohort: { department: ['Finance'] },
    });
    await runActivity(acts.cutoverRecordPriors, ref);
    // legacy: concurrency 8, so chunks of 160 users; the user at seq 330 is in the third chunk.
    const chunk = 160;
    const bySeq = await pg.query<{ user_id: string; seq: string }>(
      `SELECT user_id, seq FROM ${schema}.cutover_members WHERE run_key = $1 AND batch = 0 ORDER BY seq`,
      [rk],
    );
    const stuck = bySeq[329].user_id;
    apis.failPutsFor = (id) => id === stuck;
    try {
      const failed = await runActivity(acts.cutoverMove, ref).catch((e) => e);
      expect(failed).toBeInstanceOf(Error);
      expect(failed.message).toMatch(new RegExp(`PUT /routing/user/${stuck} answered HTTP 503`));
    } finally {
      apis.failPutsFor = () => false;
    }
    expect(apis.puts.get(stuck)).toBe(4); // the first call and its 3 retries
    // A new attempt whose last heartbeat never reached the server (no details): it goes on from the saved cursor.
    const r = (await new MockActivityEnvironment({ attempt: 2 }).run(acts.cutoverMove, ref)) as {
      written: number;
      verified: number;
    };
    expect(r).toEqual({ written: finance.length, verified: finance.length });
    expect(finance.every((id) => apis.routes.get(id) === 'new_system')).toBe(true);
    const twice = finance.filter((id) => id !== stuck && (apis.puts.get(id) ?? 0) > 1);
    // Only users of the failed chunk were written again; the two chunks before it, once.
    expect(twice.length).toBeLessThanOrEqual(chunk);
    expect(bySeq.slice(0, 2 * chunk).every((m) => apis.puts.get(m.user_id) === 1)).toBe(true);
    await runActivity(acts.cutoverRestore, ref);
  }, 60_000);

  test('a router that cannot be read back (readBack: false): the move counts its writes, the sample says it cannot be read instead of reporting mismatches', async () => {
    const rk = runKey();
    const ref: BatchRef = { runKey: rk, service, router: 'writeonly', batch: 0 };
    const it = idsWhere(2_000, (u) => u.department === 'IT');
    await runActivity(acts.cutoverSnapshot, { runKey: rk, directory: 'api', batch: 0, cohort: { department: ['IT'] } });
    await runActivity(acts.cutoverRecordPriors, ref);
    expect(await runActivity(acts.cutoverMove, ref)).toEqual({ written: it.length, verified: it.length });
    expect(it.every((id) => apis.routes.get(id) === 'new_system')).toBe(true);
    const sample = await runActivity(acts.cutoverSampleRoutes, { ...ref, expect: 'new', sample: 100 });
    expect(sample).toEqual({ sampled: 0, matching: 0, mismatches: [], unreadable: true });
    await runActivity(acts.cutoverRestore, ref);
    expect(it.every((id) => apis.routes.get(id) === 'old_system')).toBe(true);
  }, 60_000);

  test('a Redis user that may not run scripts (ACL without @scripting): the move falls back to a pipeline, read back the same', async () => {
    const user = `opsflow-noscript-${randomBytes(4).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    await redis.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all', '-@scripting');
    process.env.CUTOVER_TEST_NOSCRIPT = password;
    const limited = cutoverActivities(
      configWith(schema, table, {
        redis: {
          cache: { host: redisConnection.host, port: redisConnection.port },
          acl: {
            host: redisConnection.host,
            port: redisConnection.port,
            username: user,
            password: { env: 'CUTOVER_TEST_NOSCRIPT' },
          },
        },
        routers: { gateway: { type: 'redis', redis: 'acl', chunkSize: 1_000 } },
      }),
    );
    try {
      const rk = runKey();
      const sales = idsWhere(N, (u) => u.department === 'Sales');
      const ref: BatchRef = { runKey: rk, service, router: 'gateway', batch: 0 };
      await redis.hset(key, sales[0], 'canary');
      await runActivity(limited.cutoverSnapshot, {
        runKey: rk,
        directory: 'staff',
        batch: 0,
        cohort: { department: ['Sales'] },
      });
      await runActivity(limited.cutoverRecordPriors, ref);
      expect(await runActivity(limited.cutoverMove, ref)).toEqual({ written: sales.length, verified: sales.length });
      const all = await redis.hgetall(key);
      expect(
        Object.keys(all)
          .filter((id) => all[id] === 'new_system')
          .sort(),
      ).toEqual(sorted(sales));
      expect(await runActivity(limited.cutoverRestore, ref)).toEqual({ written: sales.length, verified: sales.length });
      expect(await redis.hgetall(key)).toEqual({ [sales[0]]: 'canary' });
    } finally {
      await redis.call('ACL', 'DELUSER', user);
    }
  }, 60_000);

  test('the store migrations run again at every worker start and change nothing', async () => {
    const fresh = await pg.schema();
    expect(await applyMigrations(await pg.client(), fresh, cutoverStore)).toEqual([
      '001_cutover',
      '002_cutover_pass_cursors',
    ]);
    expect(await applyMigrations(await pg.client(), fresh, cutoverStore)).toEqual([]);
    const storage = await pg.query<{ attstorage: string }>(
      `SELECT attstorage FROM pg_attribute WHERE attrelid = '${fresh}.cutover_member_pages'::regclass AND attname = 'user_ids'`,
    );
    expect(storage).toEqual([{ attstorage: 'e' }]);
    expect(await pg.count(`SELECT count(*) FROM ${fresh}.cutover_members`)).toBe(0);
  }, 60_000);

  test('prior routes resume after what the store holds, not after the last beat', async () => {
    const rk = runKey();
    const ref: BatchRef = { runKey: rk, service, router: 'gateway', batch: 0 };
    const hr = idsWhere(N, (u) => u.department === 'HR');
    await runActivity(acts.cutoverSnapshot, {
      runKey: rk,
      directory: 'staff',
      batch: 0,
      cohort: { department: ['HR'] },
    });
    const firstChunk = await pg.query<{ user_id: string }>(
      `SELECT user_id FROM ${schema}.cutover_members WHERE run_key = $1 AND seq <= 1000 ORDER BY seq`,
      [rk],
    );
    const secondChunk = await pg.query<{ user_id: string }>(
      `SELECT user_id FROM ${schema}.cutover_members WHERE run_key = $1 AND seq > 1000 AND seq <= 2000 ORDER BY seq`,
      [rk],
    );
    // An attempt recorded the first chunk (1 000 users, chunkSize 1 000) and no more.
    await redis.hset(key, firstChunk[0].user_id, 'canary');
    const env1 = new MockActivityEnvironment();
    await env1.run(acts.cutoverRecordPriors, ref);
    await pg.query(`DELETE FROM ${schema}.cutover_prior_pages WHERE after_seq >= 1000`);
    await pg.query(`UPDATE ${schema}.cutover_snapshots SET priors_recorded = false WHERE run_key = $1`, [rk]);
    // Meanwhile the routes changed (as a move would): read again, the first chunk would be lost.
    await redis.hset(key, firstChunk[0].user_id, 'new_system', secondChunk[0].user_id, 'canary');
    // The last beat is ahead of the store (as after a 001 store's unfinished pass was dropped):
    // trusted, it would skip the second chunk.
    const env = new MockActivityEnvironment({
      attempt: 2,
      heartbeatDetails: { afterSeq: 2_000, written: 2_000, verified: 2_000 },
    });
    expect(await env.run(acts.cutoverRecordPriors, ref)).toEqual({ written: hr.length, verified: hr.length });
    expect(
      await pg.query(
        `SELECT user_id, prior FROM ${schema}.cutover_members m JOIN ${schema}.cutover_priors p USING (run_key, batch, seq) WHERE run_key = $1 ORDER BY seq`,
        [rk],
      ),
    ).toEqual([
      { user_id: firstChunk[0].user_id, prior: 'canary' },
      { user_id: secondChunk[0].user_id, prior: 'canary' },
    ]);
  }, 60_000);

  test('no store in the config: a non-retryable failure naming cutover.store', async () => {
    const noStore = cutoverActivities(
      parseConfigText(
        JSON.stringify({ directories: { d: { type: 'http', url: apis.url, token: { env: 'CUTOVER_TEST_TOKEN' } } } }),
        'test.json',
      ),
    );
    const err = await runActivity(noStore.cutoverSnapshot, {
      runKey: runKey(),
      directory: 'd',
      batch: 0,
      cohort: 'rest',
    }).catch((e) => e);
    expect(err).toMatchObject({ type: 'CutoverStoreNotConfigured', nonRetryable: true });
    expect(err.message).toMatch(/config\.cutover\.store is not set/);
  });
});

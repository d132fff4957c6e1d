import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Stack, waitFor, writeConfig, killWorker } from '../helpers/stack';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, redisConnection, requirePostgres, requireRedis } from '../helpers/services';
import { idsWhere, RunbookApis, seedUsers } from '../helpers/cutover-fixtures';
import { recordHistory } from '../helpers/histories';
import { testToken } from '../helpers/tokens';
import type { CutoverStatus } from '../../src/workflows/cutover/status';
import { approveSignal, statusQuery } from '../../src/workflows/cutover/messages';

const N = 200_000;

/**
 * The worker process is SIGKILLed while a batch of 200 000 users is being routed, the Temporal
 * server is killed -9 and restarted on its SQLite file before another worker comes; that worker is
 * SIGKILLed in turn while the batch is monitored; a third finishes the same run: every user on the
 * new system once, the move resumed from its heartbeat cursor (not restarted), the snapshot not
 * taken again. Then a run of two batches killed between them (the first moved and passed, the second
 * waiting for its approval, nothing in flight): the approve sent while no worker runs, every user
 * PUT exactly once.
 */
describe('userCutoverWorkflow survives a SIGKILLed worker', () => {
  let stack: Stack;
  const pg = new PgScratch('cutover_crash');
  const service = `crash-${randomBytes(3).toString('hex')}`;
  const key = `opsflow:routes:${service}`;
  const redis = new Redis({ ...redisConnection, lazyConnect: true });
  let stats: Server;
  let configPath: string;
  let schema: string;
  const routingToken = testToken('routing');
  const env: NodeJS.ProcessEnv = { CUTOVER_CRASH_ROUTING_TOKEN: routingToken };
  // The runbook's routing API, counting every PUT per user.
  const apis = new RunbookApis(routingToken);
  const SMALL = 1_200;
  /** routers.legacy's chunk: concurrency 5 works through max(100, 5 × 20) users per chunk. */
  const CHUNK = 100;

  beforeAll(async () => {
    await Promise.all([requirePostgres(), requireRedis()]);
    await redis.connect();
    stats = createServer((_req, res) =>
      res.end(JSON.stringify({ errors: 0, total: 100, avgResponseMs: 5, complaints: 0 })),
    );
    await new Promise<void>((r) => stats.listen(0, '127.0.0.1', r));
    schema = await pg.schema();
    const table = await seedUsers(pg, schema, N);
    const small = await seedUsers(pg, schema, SMALL, 'small_users');
    await apis.start();
    stack = await Stack.start({ persistent: true });
    configPath = writeConfig({
      postgres: { main: pgConnection },
      redis: { cache: redisConnection },
      directories: {
        staff: { type: 'postgres', postgres: 'main', table },
        small: { type: 'postgres', postgres: 'main', table: small },
      },
      routers: {
        gateway: { type: 'redis', redis: 'cache', chunkSize: 500 },
        legacy: {
          type: 'http',
          url: apis.url,
          token: { env: 'CUTOVER_CRASH_ROUTING_TOKEN' },
          concurrency: 5,
          retries: 2,
        },
      },
      metricSources: {
        stats: {
          type: 'http-stats',
          url: `http://127.0.0.1:${(stats.address() as AddressInfo).port}/stats`,
          minRequests: 1,
        },
      },
      cutover: { store: { postgres: 'main', schema } },
    });
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await redis.del(key).catch(() => undefined);
    redis.disconnect();
    stats?.close();
    await apis.stop();
    await pg.drop();
  }, 60_000);

  test('killed mid-move, server kill -9, killed again while monitoring: 200 000 users routed, once, from the one snapshot', async () => {
    const first = stack.spawnWorkerProcess(configPath, env);
    const handle = await stack.client.workflow.start('userCutoverWorkflow', {
      taskQueue: 'opsflow',
      workflowId: `cutover-${service}`,
      args: [
        {
          service,
          directory: 'staff',
          router: 'gateway',
          metricSources: ['stats'],
          sampleInterval: '1s',
          minGap: '1s',
          batches: [
            { name: 'everyone', cohort: 'rest', startAt: '+1s', thresholds: { errorRatePercent: 5 }, window: '6s' },
          ],
        },
      ],
    });
    await waitFor(
      '20 000 users routed',
      async () => ((await redis.hlen(key)) >= 20_000 ? true : undefined),
      120_000,
      10,
    );
    await killWorker(first.child);
    const atKill = await redis.hlen(key);
    expect(atKill).toBeLessThan(N);
    // What the killed worker routed beyond the cursor it saved is at most the two chunks (of 500)
    // it had at Redis: all the next attempt writes again.
    const saved = await pg.query<{ after_seq: string }>(
      `SELECT after_seq FROM ${schema}.cutover_pass_cursors WHERE pass = 'move'`,
    );
    expect(saved).toHaveLength(1);
    expect(atKill - Number(saved[0].after_seq)).toBeLessThanOrEqual(2 * 500);
    const snapshotAt = await pg.query<{ taken_at: Date }>(`SELECT taken_at FROM ${schema}.cutover_snapshots`);
    expect(snapshotAt).toHaveLength(1);
    await stack.restartServer();

    const second = stack.spawnWorkerProcess(configPath, env);
    // killed again while the moved batch is watched (its samples and the timers between them)
    await waitFor(
      'the batch monitored',
      async () => (await handle.query(statusQuery)).batches[0].state === 'monitoring',
      180_000,
      100,
    );
    await killWorker(second.child);
    const third = stack.spawnWorkerProcess(configPath, env);
    const result = (await handle.result()) as CutoverStatus;
    await killWorker(third.child);

    expect(result.state).toBe('completed');
    expect(result.batches[0]).toMatchObject({ state: 'moved', members: N, listed: N, moved: N });
    expect(await redis.hlen(key)).toBe(N);
    const values = await redis.hvals(key);
    expect(values.filter((v) => v === 'new_system')).toHaveLength(N);
    // The one snapshot, not taken again; the move resumed (a second attempt), the listing did not run twice.
    expect(await pg.query(`SELECT taken_at FROM ${schema}.cutover_snapshots`)).toEqual(snapshotAt);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.cutover_members`)).toBe(N);
    const history = await handle.fetchHistory();
    const scheduled = (name: string) =>
      (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name).length;
    expect(scheduled('cutoverSnapshot')).toBe(1);
    expect(scheduled('cutoverMove')).toBe(1);
    const moveId = (history.events ?? [])
      .find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'cutoverMove')!
      .eventId!.toString();
    const moveStart = (history.events ?? []).find(
      (e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === moveId,
    );
    expect(moveStart?.activityTaskStartedEventAttributes?.attempt).toBeGreaterThan(1);
    expect(result.decisions.map((d) => d.text).join('\n')).not.toMatch(/snapshot taken before/);
  }, 300_000);

  test('killed mid-move through the routing API, which then answers 503 for a burst: the new worker goes on from the last saved chunk, so at most one chunk of users is PUT twice', async () => {
    const svc = `${service}-api`;
    // The move is held after 700 of 1 200 PUTs: the worker dies with 7 chunks answered and the 8th in flight.
    apis.holdPutsAfter = 700;
    const first = stack.spawnWorkerProcess(configPath, env);
    const handle = await stack.client.workflow.start('userCutoverWorkflow', {
      taskQueue: 'opsflow',
      workflowId: `cutover-${svc}`,
      args: [
        {
          service: svc,
          directory: 'small',
          router: 'legacy',
          metricSources: ['stats'],
          sampleInterval: '1s',
          minGap: '1s',
          batches: [
            { name: 'everyone', cohort: 'rest', startAt: '+1s', thresholds: { errorRatePercent: 5 }, window: '2s' },
          ],
        },
      ],
    });
    // Killed once PUTs beyond the 700th are held: chunks 1–7 answered, the 8th in flight.
    await waitFor('a PUT held after the 700th', () => (apis.putCount() > 700 ? true : undefined), 120_000, 10);
    await killWorker(first.child);
    apis.releasePuts();
    expect(apis.routes.size).toBeLessThan(SMALL);
    // The routing API is down for the new worker's first PUTs (within the router's 2 retries per user).
    apis.failNextPuts(2);

    const second = stack.spawnWorkerProcess(configPath, env);
    const result = (await handle.result()) as CutoverStatus;
    await killWorker(second.child);

    expect(result.state).toBe('completed');
    expect(result.batches[0]).toMatchObject({ state: 'moved', members: SMALL, moved: SMALL });
    const users = Array.from({ length: SMALL }, (_, k) => String(k + 1));
    expect(users.filter((id) => apis.routes.get(id) !== 'new_system')).toEqual([]);
    expect(users.filter((id) => !apis.puts.has(id))).toEqual([]);
    expect(apis.refusedPuts).toBe(2);
    // Only the chunk in flight when the worker died is routed again (at least the users whose PUT was held).
    const twice = users.filter((id) => (apis.puts.get(id) ?? 0) > 1);
    expect(twice.length).toBeGreaterThan(0);
    expect(twice.length).toBeLessThanOrEqual(CHUNK);
    const history = await handle.fetchHistory();
    const moveId = (history.events ?? [])
      .find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'cutoverMove')!
      .eventId!.toString();
    const moveStart = (history.events ?? []).find(
      (e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === moveId,
    );
    expect(moveStart?.activityTaskStartedEventAttributes?.attempt).toBeGreaterThan(1);
  }, 300_000);

  test('killed between batches (IT moved and passed, the rest awaiting approval, nothing in flight), the approve sent while no worker runs: every user PUT exactly once', async () => {
    const svc = `${service}-between`;
    apis.routes.clear();
    apis.puts.clear();
    let worker = stack.spawnWorkerProcess(configPath, env);
    const handle = await stack.client.workflow.start('userCutoverWorkflow', {
      taskQueue: 'opsflow',
      workflowId: `cutover-${svc}`,
      args: [
        {
          service: svc,
          directory: 'small',
          router: 'legacy',
          metricSources: ['stats'],
          sampleInterval: '1s',
          minGap: '1s',
          batches: [
            {
              name: 'it',
              cohort: { department: ['IT'] },
              startAt: '+1s',
              thresholds: { errorRatePercent: 5 },
              window: '2s',
            },
            {
              name: 'everyone',
              cohort: 'rest',
              startAt: '+4s',
              thresholds: { errorRatePercent: 5 },
              window: '2s',
              approval: true,
            },
          ],
        },
      ],
    });
    const status = () => handle.query(statusQuery);
    await waitFor('batch 2 awaiting approval', async () => (await status()).awaitingApproval === 2, 120_000, 100);
    const between = await status();
    expect(between.batches[0]).toMatchObject({ state: 'moved', moved: SMALL / 5 });
    expect((await handle.describe()).raw.pendingActivities ?? []).toEqual([]);
    await killWorker(worker.child);
    const it = idsWhere(SMALL, (u) => u.department === 'IT');
    expect(it).toHaveLength(SMALL / 5);
    // batch 1 routed, batch 2 untouched
    expect([...apis.puts.keys()].sort()).toEqual([...it].sort());
    await handle.signal(approveSignal, { by: 'night-shift', step: 2 });

    worker = stack.spawnWorkerProcess(configPath, env);
    const result = (await handle.result()) as CutoverStatus;
    await killWorker(worker.child);
    expect(result.state).toBe('completed');
    expect(result.batches.map((b) => [b.state, b.moved])).toEqual([
      ['moved', SMALL / 5],
      ['moved', SMALL - SMALL / 5],
    ]);
    const users = Array.from({ length: SMALL }, (_, k) => String(k + 1));
    expect(users.filter((id) => apis.routes.get(id) !== 'new_system')).toEqual([]);
    // nothing was in flight at the kill: no user routed twice, none missed
    expect(users.filter((id) => apis.puts.get(id) !== 1)).toEqual([]);
    const history = await handle.fetchHistory();
    const scheduled = (name: string) =>
      (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name).length;
    expect(scheduled('cutoverSnapshot')).toBe(2);
    expect(scheduled('cutoverMove')).toBe(2);
    recordHistory(stack.temporalAddress(), `cutover-${svc}`, 'user-cutover-between-batches-worker-killed');
  }, 300_000);
});

import { randomBytes } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import Redis from 'ioredis';
import { Stack, waitFor } from '../helpers/stack';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, redisConnection, requirePostgres, requireRedis } from '../helpers/services';
import { recordHistory } from '../helpers/histories';
import { CutoverGateway, trafficGenerator } from '../helpers/cutover-gateway';
import { seedUsers, userOf } from '../helpers/cutover-fixtures';
import { statusQuery } from '../../src/workflows/cutover/messages';
import type { CutoverStatus } from '../../src/workflows/cutover/status';

const N = 2_000;

/**
 * A batch's window is watched, not waited: at a 10-minute sample interval, a cohort failing on the
 * new system is put back as soon as its stats endpoint has failed the gate on enough reads in a
 * row, not when the interval ends. Real PostgreSQL directory, the routing hash in the machine's
 * Redis, a gateway routing by it and counting per cohort, on the dev server.
 */
describe('user cutover: a failing cohort rolled back within a 10-minute interval (dev server, Redis, gateway)', () => {
  let stack: Stack;
  const pg = new PgScratch('cutover_early');
  const service = `portal-${randomBytes(3).toString('hex')}`;
  const key = `opsflow:routes:${service}`;
  let gateway: CutoverGateway;
  const redis = new Redis({ ...redisConnection, lazyConnect: true });
  const cohortOf = (id: string) => {
    const u = userOf(Number(id));
    return u.department === 'IT' ? 'IT department' : u.role === 'manager' ? 'managers' : 'everyone else';
  };
  const users = Array.from({ length: N }, (_, k) => String(k + 1));

  beforeAll(async () => {
    await Promise.all([requirePostgres(), requireRedis()]);
    await redis.connect();
    gateway = new CutoverGateway(redisConnection, key, cohortOf);
    await gateway.start();
    const schema = await pg.schema();
    const table = await seedUsers(pg, schema, N);
    stack = await Stack.start();
    await stack.startWorker({
      postgres: { main: pgConnection },
      redis: { cache: redisConnection },
      directories: { staff: { type: 'postgres', postgres: 'main', table, pageSize: 1_000 } },
      routers: { gateway: { type: 'redis', redis: 'cache', chunkSize: 1_000 } },
      metricSources: { stats: { type: 'http-stats', url: `${gateway.url}/stats`, minRequests: 5, timeoutMs: 2_000 } },
      cutover: { store: { postgres: 'main', schema } },
    });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await redis.del(key).catch(() => undefined);
    redis.disconnect();
    await gateway?.stop();
    await pg.drop();
  });

  test('IT (healthy) takes its whole window, sample by sample; managers, failing, are restored long before their 10-minute interval ends', async () => {
    // The new system fails for managers only, from the start: IT's batch stays healthy.
    gateway.failNewFor = (id) => userOf(Number(id)).role === 'manager';
    const traffic = trafficGenerator(gateway, users);
    const workflowId = `cutover-${service}`;
    const handle = await stack.client.workflow.start('userCutoverWorkflow', {
      taskQueue: 'opsflow',
      workflowId,
      args: [
        {
          service,
          directory: 'staff',
          router: 'gateway',
          metricSources: ['stats'],
          sampleInterval: '10m',
          minGap: '1s',
          batches: [
            {
              name: 'IT department',
              cohort: { department: ['IT'] },
              startAt: '+2s',
              thresholds: { errorRatePercent: 10 },
              sampleInterval: '2s',
              window: '6s',
            },
            {
              name: 'managers',
              cohort: { role: ['manager'] },
              startAt: '+4s',
              thresholds: { errorRatePercent: 5 },
              window: '30m',
            },
          ],
        },
      ],
    });
    const status = () => handle.query(statusQuery);
    let final: CutoverStatus;
    try {
      await waitFor(
        "managers' window under way",
        async () => (await status()).batches[1].state === 'monitoring',
        90_000,
        100,
      );
      // Bounded far below the 10-minute interval, with a margin for a busy machine: the watch's
      // early end is the only way the managers can be back on the old system before it ends.
      final = await waitFor(
        'managers restored',
        async () => {
          const s = await status();
          return s.batches[1].state === 'rolled-back' ? s : undefined;
        },
        120_000,
        200,
      );
    } finally {
      await traffic.stop();
    }
    const err = await handle.result().then(
      () => undefined,
      (e) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause.message).toMatch(/batch 2\/2 "managers": errorRatePercent \d+(\.\d+)? > 5/);

    // Redis holds exactly the IT users on the new system; every manager is back on the old one.
    const it = users.filter((id) => cohortOf(id) === 'IT department');
    const managers = users.filter((id) => cohortOf(id) === 'managers');
    const routes = await redis.hgetall(key);
    expect(Object.keys(routes).sort()).toEqual([...it].sort());
    expect(managers.filter((id) => routes[id] === 'new_system')).toEqual([]);
    const served = await gateway.served(managers);
    expect(managers.filter((id) => served.get(id) !== 'old_system')).toEqual([]);

    // IT: its three samples, each a whole watched interval (none ended early).
    expect(final.batches[0]).toMatchObject({ state: 'moved', samplesPlanned: 3, samplesTaken: 3 });
    const samplesOf = (batch: string) => final.lastSamples.filter((s) => s.batch === batch);
    expect(samplesOf('IT department').map((s) => s.early)).toEqual([undefined, undefined, undefined]);
    // managers: the first sample of 3 ended early, and it said why.
    expect(final.batches[1]).toMatchObject({ samplesPlanned: 3, samplesTaken: 1, restored: managers.length });
    expect(samplesOf('managers')).toEqual([
      expect.objectContaining({
        k: 1,
        early: expect.stringMatching(/^stats: errorRatePercent .* on \d+ reads in a row/),
      }),
    ]);
    const decisions = final.decisions.map((d) => d.text);
    expect(decisions.filter((d) => d.includes('ended early'))).toEqual([
      expect.stringMatching(
        /^batch 2\/2 "managers" sample 1\/3 ended early: stats: errorRatePercent \d+(\.\d+)? % > 5 %/,
      ),
    ]);
    recordHistory(stack.temporalAddress(), workflowId, 'user-cutover-watch-early-rollback');
  }, 300_000);
});

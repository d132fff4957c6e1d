import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Agent, request } from 'undici';
import { Stack } from '../test/helpers/stack';
import { PgScratch } from '../test/helpers/pg-scratch';
import { pgConnection, redisConnection, requirePostgres, requireRedis } from '../test/helpers/services';
import { RunbookApis, seedUsers } from '../test/helpers/cutover-fixtures';
import type { CutoverStatus } from '../src/workflows/cutover/status';
import { abortSignal, statusQuery } from '../src/workflows/cutover/messages';

/**
 * `npm run bench -- cutover [users] [runbookSample]` (default 1 000 000 and 20 000):
 *  - through `userCutoverWorkflow` on the dev server: one batch of every user in a PostgreSQL
 *    table, snapshot + prior routes + route to the Redis router with read-back (from the batch's
 *    start to the "on the new system" decision), then `abort` → every prior route restored and read
 *    back (from the signal to the run's end); then the same through a Redis user that may not run
 *    scripts (an ACL without `@scripting`), which the router serves with pipelines;
 *  - the runbook's way: one `PUT /routing/user/{id}` per user, one after another, against a local
 *    routing API, on a sample, extrapolated.
 */
export async function main(args: string[]) {
  const users = Number(args[0] ?? 1_000_000);
  const sample = Number(args[1] ?? 20_000);
  if (!Number.isInteger(users) || users < 1 || !Number.isInteger(sample) || sample < 1)
    throw new Error('usage: npm run bench -- cutover [users] [runbookSample]');
  await Promise.all([requirePostgres(), requireRedis()]);
  const pg = new PgScratch('cutover_bench');
  const run = randomBytes(3).toString('hex');
  const redis = new Redis({ ...redisConnection, lazyConnect: true });
  await redis.connect();
  // A Redis user that may not run scripts, as some managed services set: the router's pipeline path.
  const noScripts = { username: `opsflow-bench-${run}`, password: randomBytes(12).toString('hex') };
  await redis.call(
    'ACL',
    'SETUSER',
    noScripts.username,
    'on',
    `>${noScripts.password}`,
    '~*',
    '&*',
    '+@all',
    '-@scripting',
  );
  process.env.OPSFLOW_BENCH_REDIS_PASSWORD = noScripts.password;
  const stats = createServer((_q, res) =>
    res.end(JSON.stringify({ errors: 0, total: 100, avgResponseMs: 5, complaints: 0 })),
  );
  await new Promise<void>((r) => stats.listen(0, '127.0.0.1', r));
  let stack: Stack | undefined;
  const rate = (n: number, ms: number) => Math.round(n / (ms / 1000));
  const services: string[] = [];
  try {
    const schema = await pg.schema();
    const table = await seedUsers(pg, schema, users);
    await pg.query(`VACUUM ANALYZE ${table}`);
    stack = await Stack.start();
    await stack.startWorker({
      postgres: { main: pgConnection },
      redis: {
        cache: redisConnection,
        limited: {
          ...redisConnection,
          username: noScripts.username,
          password: { env: 'OPSFLOW_BENCH_REDIS_PASSWORD' },
        },
      },
      directories: { staff: { type: 'postgres', postgres: 'main', table } },
      routers: { gateway: { type: 'redis', redis: 'cache' }, pipelined: { type: 'redis', redis: 'limited' } },
      metricSources: {
        stats: {
          type: 'http-stats',
          url: `http://127.0.0.1:${(stats.address() as AddressInfo).port}/stats`,
          minRequests: 1,
        },
      },
      cutover: { store: { postgres: 'main', schema } },
    });
    /** One batch of every user routed through `router`, then aborted: the route's and the rollback's time. */
    const cutover = async (router: string) => {
      const service = `bench-${run}-${router}`;
      services.push(service);
      const handle = await stack!.client.workflow.start('userCutoverWorkflow', {
        taskQueue: 'opsflow',
        workflowId: `cutover-${service}`,
        args: [
          {
            service,
            directory: 'staff',
            router,
            metricSources: ['stats'],
            minGap: '1s',
            batches: [
              { name: 'everyone', cohort: 'rest', startAt: '+1s', thresholds: { errorRatePercent: 5 }, window: '1h' },
            ],
          },
        ],
      });
      let s: CutoverStatus | undefined;
      for (let n = 0; n < 36_000; n++) {
        s = await handle.query(statusQuery);
        if (s.batches[0].state === 'monitoring') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const started = Date.parse(s!.batches[0].startedAt!);
      const routed = Date.parse(s!.decisions.find((d) => /on the new system, read back/.test(d.text))!.at);
      const spans = await activitySpans(handle);
      const t = performance.now();
      await handle.signal(abortSignal, { by: 'bench' });
      await handle.result().catch(() => undefined);
      const rollbackMs = performance.now() - t;
      const restoreSpans = (await activitySpans(handle)).filter(([name]) => name === 'cutoverRestore');
      const after = await handle.query(statusQuery);
      if (after.batches[0].restored !== users || (await redis.hlen(`opsflow:routes:${service}`)) !== 0)
        throw new Error(`rollback through ${router} incomplete: ${JSON.stringify(after.batches[0])}`);
      return { routeMs: routed - started, rollbackMs, spans, restoreSpans };
    };
    const scripted = await cutover('gateway');
    const pipelined = await cutover('pipelined');

    const apis = new RunbookApis('bench');
    await apis.start();
    const agent = new Agent({ connections: 1 });
    const t2 = performance.now();
    for (let i = 1; i <= sample; i++) {
      const r = await request(`${apis.url}/routing/user/${i}`, {
        method: 'PUT',
        dispatcher: agent,
        headers: { authorization: 'Bearer bench', 'content-type': 'application/json' },
        body: '{"target_system":"new_system"}',
      });
      await r.body.dump();
    }
    const runbookMs = performance.now() - t2;
    await agent.close();
    await apis.stop();

    const routeRate = rate(users, scripted.routeMs);
    const rollbackRate = rate(users, scripted.rollbackMs);
    const pipelineRate = rate(users, pipelined.routeMs);
    const runbookRate = rate(sample, runbookMs);
    const spans = (s: [string, number][]) => s.map(([n, ms]) => `${n} ${(ms / 1000).toFixed(2)} s`).join(', ');
    console.log(
      `cutover bench: ${users} users in PostgreSQL, Redis router (${redisConnection.host}:${redisConnection.port})`,
    );
    console.log(
      `route (snapshot + priors + move + read-back) ${(scripted.routeMs / 1000).toFixed(2)} s  ${routeRate} users/s`,
    );
    console.log(`  where the route's time went: ${spans(scripted.spans)}`);
    console.log(
      `roll back (abort → restored, read back)     ${(scripted.rollbackMs / 1000).toFixed(2)} s  ${rollbackRate} users/s`,
    );
    console.log(`  of which the restore activity: ${spans(scripted.restoreSpans)}`);
    console.log(
      `route, Redis user without scripting (pipeline) ${(pipelined.routeMs / 1000).toFixed(2)} s  ${pipelineRate} users/s (target 150000); roll back ${rate(users, pipelined.rollbackMs)} users/s`,
    );
    console.log(`  where the pipelined route's time went: ${spans(pipelined.spans)}`);
    console.log(
      `runbook: one PUT per user, ${sample} users      ${(runbookMs / 1000).toFixed(2)} s  ${runbookRate} users/s (extrapolated to ${users}: ${(users / runbookRate / 60).toFixed(1)} min)`,
    );
    console.log(`ratio route/runbook ${(routeRate / runbookRate).toFixed(1)}×`);
    console.log(
      `cutover: ${routeRate} users/s route (target 300000), ${rollbackRate} users/s roll back (target 600000)`,
    );
  } finally {
    await stack?.stop();
    for (const service of services) await redis.del(`opsflow:routes:${service}`).catch(() => undefined);
    await redis.call('ACL', 'DELUSER', noScripts.username).catch(() => undefined);
    redis.disconnect();
    stats.close();
    await pg.drop();
  }
}

/** Each activity's time from scheduled to completed, from the run's history, in order (retries add up). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a history event is read by the fields each kind has
type HistoryEvent = Record<string, any>;

async function activitySpans(handle: {
  fetchHistory(): Promise<{ events?: Array<HistoryEvent | null> | null }>;
}): Promise<[string, number][]> {
  const { events } = await handle.fetchHistory();
  const scheduled = new Map<string, { name: string; at: number }>();
  const spans: [string, number][] = [];
  const ms = (e: HistoryEvent) => Number(e.eventTime.seconds) * 1000 + Math.floor((e.eventTime.nanos ?? 0) / 1e6);
  for (const e of events ?? []) {
    if (!e) continue;
    const a = e.activityTaskScheduledEventAttributes;
    if (a) scheduled.set(String(e.eventId), { name: a.activityType.name, at: ms(e) });
    const done = e.activityTaskCompletedEventAttributes;
    const s = done && scheduled.get(String(done.scheduledEventId));
    if (s) spans.push([s.name, ms(e) - s.at]);
  }
  return spans.filter(([, t]) => t >= 50);
}

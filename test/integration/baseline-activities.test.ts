import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import Redis from 'ioredis';
import { baselineActivities, type SampleChunkInput } from '../../src/activities/baseline';
import { parseConfigText } from '../../src/config/load';
import { percentile } from '../../src/domain/baseline/statistics';
import { BaselineApp, startPrivateRedis } from '../helpers/baseline-app';
import { PgScratch } from '../helpers/pg-scratch';
import { ProcessGroup } from '../helpers/processes';
import { pgConnection, requirePostgres } from '../helpers/services';
import { runActivity } from '../helpers/activity';

/** Naive p95 of the app's own record, for the bounds below (not the code under test). */
const sortedP95 = (xs: number[]) => percentile(xs, 95);

/**
 * The baseline's activities against the real parts: a local app behind the real HTTP probe, the
 * machine's PostgreSQL (samples and baselines stored in a scratch schema; a scratch database
 * sampled) and a private redis-server.
 */
describe('baseline activities against real systems', () => {
  const pg = new PgScratch('baseline_acts');
  const processes = new ProcessGroup();
  // 20 delays, 10..48 ms, every 25th request a 500: 4 % errors.
  const app = new BaselineApp(Array.from({ length: 20 }, (_, k) => 10 + 2 * k), 25);
  const quiet = new BaselineApp([5]);
  let acts: ReturnType<typeof baselineActivities>;
  let schema: string;
  let sampledDb: string;
  let redisPort: number;
  let seq = 0;
  const runKey = () => `test-${process.pid}-${++seq}/run`;
  const chunk = (over: Partial<SampleChunkInput> & Pick<SampleChunkInput, 'group'>): SampleChunkInput => ({
    runKey: runKey(),
    windowStart: new Date(Date.now() + 50).toISOString(),
    intervalMs: 500,
    from: 0,
    until: 10,
    requestsPerSample: 10,
    ...over,
  });

  beforeAll(async () => {
    await requirePostgres();
    await Promise.all([app.start(), quiet.start()]);
    schema = await pg.schema();
    sampledDb = await pg.database();
    redisPort = (await startPrivateRedis(processes)).port;
    const config = parseConfigText(
      JSON.stringify({
        http: { app: { url: app.url, timeoutMs: 2_000 }, quiet: { url: quiet.url } },
        postgres: { store: { ...pgConnection }, sampled: { ...pgConnection, database: sampledDb } },
        redis: { cache: { host: '127.0.0.1', port: redisPort } },
        baseline: { store: { postgres: 'store', schema } },
      }),
      'test.json',
    );
    acts = baselineActivities(config);
  });

  afterAll(async () => {
    await Promise.all([app.stop(), quiet.stop()]);
    await processes.stopAll();
    await pg.drop();
  });

  test('HTTP: one tick per interval, raw ticks in PostgreSQL, counts in the result; p95 and error rate match the app’s record', async () => {
    const input = chunk({ group: { id: 'http:app', kind: 'http', target: 'app' } });
    const started = Date.now();
    const r = await runActivity(acts.sampleBaselineChunk, input);
    expect(Date.now() - started).toBeGreaterThanOrEqual(9 * 500); // ten ticks, 500 ms apart
    expect(r).toEqual({ group: 'http:app', from: 0, until: 10, recorded: 10, missed: 0, requests: 100, errors: 4 });
    expect(await pg.count(`SELECT count(*) FROM ${schema}.baseline_samples WHERE run_key = $1`, [input.runKey])).toBe(10);
    expect(app.served.length).toBe(100);

    const window = { start: input.windowStart, end: new Date().toISOString(), durationMs: 5_000, intervalMs: 500 };
    const b = await runActivity(acts.summarizeBaseline, {
      runKey: input.runKey, service: 'app', workflowId: 'wf-http', runId: 'r1', groups: [input.group], window, minimums: { samples: 5, requests: 50 },
    });
    const g = b.groups[0];
    const appP95 = sortedP95(app.served.map((s) => s.delayMs));
    const appErrors = app.served.filter((s) => s.status !== 200).length;
    // The probe measures the app's delay plus the loopback round trip: never less, at most 25 ms more.
    expect(g.statistics.responseTimeMs!.p95).toBeGreaterThanOrEqual(appP95);
    expect(g.statistics.responseTimeMs!.p95).toBeLessThanOrEqual(appP95 + 25);
    expect(g.rates.errorRatePercent).toBe((appErrors / app.served.length) * 100);
    expect(g.thresholds.errorRatePercent).toEqual({ warning: 8, critical: 12 }); // 4 % → max(5, 8), max(10, 12)
    const p95 = g.statistics.responseTimeMs!.p95;
    expect(g.thresholds.p95Ms).toEqual({ warning: p95 * 1.5, critical: p95 * 2 });
    expect(b.complete).toBe(true);

    const stored = await pg.query<{ complete: boolean; service: string; samples: Record<string, number> }>(
      `SELECT complete, service, samples FROM ${schema}.baselines WHERE workflow_id = 'wf-http'`,
    );
    expect(stored).toEqual([{ complete: true, service: 'app', samples: { 'http:app': 10 } }]);
    expect(await runActivity(acts.latestBaseline, { service: 'app' })).toEqual(b);
    // Saving again (a retry) leaves one row.
    await runActivity(acts.summarizeBaseline, { runKey: input.runKey, service: 'app', workflowId: 'wf-http', runId: 'r1', groups: [input.group], window, minimums: { samples: 5, requests: 50 } });
    expect(await pg.count(`SELECT count(*) FROM ${schema}.baselines WHERE workflow_id = 'wf-http'`)).toBe(1);
  });

  test('a second attempt resumes after the stored ticks (and after its heartbeat), never sampling a tick twice', async () => {
    const group = { id: 'http:quiet', kind: 'http' as const, target: 'quiet' };
    const first = chunk({ group, until: 4, requestsPerSample: 2, intervalMs: 300 });
    await runActivity(acts.sampleBaselineChunk, first);
    expect(quiet.served.length).toBe(8);
    // The retry of a chunk [0, 8) that had stored ticks 0–3 takes only 4–7.
    const r = await runActivity(acts.sampleBaselineChunk, { ...first, until: 8 });
    expect(r).toMatchObject({ recorded: 8, missed: 0, requests: 16 });
    expect(quiet.served.length).toBe(16);
    // A heartbeat saying "next tick 10" (ticks 8, 9 were taken but the insert of 9 was lost) skips to 10.
    const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { nextTick: 10 } });
    const r2 = (await env.run(acts.sampleBaselineChunk, { ...first, until: 11 })) as Awaited<ReturnType<typeof acts.sampleBaselineChunk>>;
    expect(r2).toMatchObject({ recorded: 9, missed: 2 });
    expect(quiet.served.length).toBe(18);
  });

  test('ticks whose time passed while the worker was down are missed, not taken late', async () => {
    const group = { id: 'http:quiet', kind: 'http' as const, target: 'quiet' };
    const before = quiet.served.length;
    // The window began 10 s ago at 1 s: ticks 0–8 are long past; 9 is within its interval, 10 and 11 are due.
    const r = await runActivity(acts.sampleBaselineChunk, chunk({ group, windowStart: new Date(Date.now() - 10_000 + 200).toISOString(), intervalMs: 1_000, until: 12, requestsPerSample: 1 }));
    expect(r.recorded).toBe(3);
    expect(r.missed).toBe(9);
    expect(quiet.served.length - before).toBe(3);
  });

  test('PostgreSQL and Redis groups: counters turned into hit ratios that match the load the test put on them', async () => {
    const redis = new Redis({ host: '127.0.0.1', port: redisPort, lazyConnect: true });
    await redis.connect();
    await redis.set('k', 'v');
    const pgInput = chunk({ group: { id: 'postgres:sampled', kind: 'postgres', target: 'sampled' }, until: 3 });
    const redisInput = chunk({ group: { id: 'redis:cache', kind: 'redis', target: 'cache' }, until: 3, windowStart: pgInput.windowStart, runKey: pgInput.runKey });
    // Between the first and the last tick: 150 hits and 50 misses on a Redis only this test uses.
    const load = (async () => {
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < 150; i++) await redis.get('k');
      for (let i = 0; i < 50; i++) await redis.get(`missing-${i}`);
    })();
    const [p, r] = await Promise.all([runActivity(acts.sampleBaselineChunk, pgInput), runActivity(acts.sampleBaselineChunk, redisInput), load]);
    redis.disconnect();
    expect(p).toMatchObject({ recorded: 3, missed: 0 });
    expect(r).toMatchObject({ recorded: 3, missed: 0 });
    const b = await runActivity(acts.summarizeBaseline, {
      runKey: pgInput.runKey, service: 'db', workflowId: 'wf-db', runId: 'r1', groups: [pgInput.group, redisInput.group],
      window: { start: pgInput.windowStart, end: new Date().toISOString(), durationMs: 1_500, intervalMs: 500 }, minimums: { samples: 2, requests: 100 },
    });
    const [pgGroup, redisGroup] = b.groups;
    expect(redisGroup.rates.keyspaceHitRatePercent).toBe(75);
    expect(redisGroup.statistics.clients!.min).toBeGreaterThanOrEqual(2); // the test's client and the sampler's own
    expect(pgGroup.statistics.databaseSizeBytes!.min).toBeGreaterThan(0);
    expect(pgGroup.statistics.connections!.max).toBeGreaterThanOrEqual(1); // the sampler's own connection
  });

  test('cancelled mid-chunk: the ticks taken stay stored, and the activity ends cancelled', async () => {
    const group = { id: 'http:quiet', kind: 'http' as const, target: 'quiet' };
    const input = chunk({ group, until: 20, requestsPerSample: 1, intervalMs: 300 });
    const env = new MockActivityEnvironment();
    const run = env.run(acts.sampleBaselineChunk, input);
    await new Promise((r) => setTimeout(r, 1_000));
    env.cancel();
    await expect(run).rejects.toBeInstanceOf(CancelledFailure);
    const kept = await pg.count(`SELECT count(*) FROM ${schema}.baseline_samples WHERE run_key = $1`, [input.runKey]);
    expect(kept).toBeGreaterThanOrEqual(2);
    expect(kept).toBeLessThan(20);
  });

  test('too little traffic: insufficient data, no error rate, no response-time threshold', async () => {
    const group = { id: 'http:quiet', kind: 'http' as const, target: 'quiet' };
    const input = chunk({ group, until: 3, requestsPerSample: 1, intervalMs: 300 });
    await runActivity(acts.sampleBaselineChunk, input);
    const b = await runActivity(acts.summarizeBaseline, {
      runKey: input.runKey, service: 'quiet', workflowId: 'wf-quiet', runId: 'r1', groups: [group],
      window: { start: input.windowStart, end: new Date().toISOString(), durationMs: 900, intervalMs: 300 }, minimums: { samples: 30, requests: 100 },
    });
    expect(b.groups[0].thresholds).toEqual({
      p95Ms: { insufficient: '3 requests, fewer than the minimum of 100' },
      errorRatePercent: { insufficient: '3 requests, fewer than the minimum of 100' },
    });
    expect(b.groups[0].rates.errorRatePercent).toBeUndefined();
  });

  test('the gate activity takes the latest complete baseline from the store; none stored is a non-retryable refusal naming the service', async () => {
    // The HTTP test above stored a complete baseline of "app"; a later partial one must not be taken.
    const latest = (await runActivity(acts.latestBaseline, { service: 'app' }))!;
    await runActivity(acts.summarizeBaseline, {
      runKey: 'none/none', service: 'app', workflowId: 'wf-http-later', runId: 'r2', groups: [{ id: 'http:app', kind: 'http', target: 'app' }],
      window: { start: new Date().toISOString(), end: new Date(Date.now() + 1000).toISOString(), durationMs: 1000, intervalMs: 500 }, minimums: { samples: 5, requests: 50 }, partial: 'cancelled after 1s',
    });
    const g = await runActivity(acts.resolveBaselineGate, { fromBaseline: 'app' });
    const t = latest.groups[0].thresholds;
    // The gate takes the stored critical levels rounded to 0.01, as its description shows them.
    const shown = (n: number) => Math.round(n * 100) / 100;
    expect(g.gate).toEqual({ errorRatePercent: shown((t.errorRatePercent as { critical: number }).critical), p95Ms: shown((t.p95Ms as { critical: number }).critical) });
    expect(g.baseline).toMatchObject({ workflowId: 'wf-http', runId: 'r1', complete: true });
    await expect(runActivity(acts.resolveBaselineGate, { fromBaseline: 'app', acceptPartial: true })).rejects.toMatchObject({
      nonRetryable: true, message: expect.stringMatching(/^gate from baseline of app taken .* \d\d:\d\d: errorRatePercent has insufficient data \(http:app: 0 requests, fewer than the minimum of 50\); p95Ms has insufficient data/),
    });
    await expect(runActivity(acts.resolveBaselineGate, { fromBaseline: 'never-measured' })).rejects.toMatchObject({
      nonRetryable: true, type: 'BaselineGateUnavailable', message: 'gate from baseline: no complete baseline of never-measured is stored (run `opsflow start baseline` first)',
    });
    await expect(runActivity(acts.resolveBaselineGate, { fromBaseline: 'app', maxAge: 'soon' } as never)).rejects.toMatchObject({ nonRetryable: true, type: 'InvalidInput' });
  });

  test('no store configured, or an unknown target: non-retryable, naming what is missing', async () => {
    const bare = baselineActivities(parseConfigText(JSON.stringify({}), 'test.json'));
    await expect(runActivity(bare.sampleBaselineChunk, chunk({ group: { id: 'host', kind: 'host' } }))).rejects.toMatchObject({
      nonRetryable: true, message: expect.stringMatching(/config\.baseline\.store is not set/),
    });
    await expect(runActivity(acts.sampleBaselineChunk, chunk({ group: { id: 'redis:nope', kind: 'redis', target: 'nope' } }))).rejects.toMatchObject({
      nonRetryable: true, message: 'unknown redis target "nope" (groups.redis: nope)',
    });
  });
});

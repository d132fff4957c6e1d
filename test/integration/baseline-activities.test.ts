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
import { waitFor } from '../helpers/ports';

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
  // 20 delays, 10..48 ms, every 10th request a 500: 10 % errors, in every tick of 10 requests (so
  // the rate holds however many ticks a loaded machine misses).
  const app = new BaselineApp(
    Array.from({ length: 20 }, (_, k) => 10 + 2 * k),
    10,
  );
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
    const r = await runActivity(acts.sampleBaselineChunk, input);
    // Ten ticks, 500 ms apart: all ten on an idle machine; one more than an interval late is missed.
    expect(r.recorded + r.missed).toBe(10);
    expect(r.recorded).toBeGreaterThanOrEqual(5);
    expect(r).toEqual({
      group: 'http:app',
      from: 0,
      until: 10,
      recorded: r.recorded,
      missed: r.missed,
      requests: 10 * r.recorded,
      errors: r.recorded,
    });
    const ticks = await pg.query<{ seq: number; at: Date }>(
      `SELECT seq, at FROM ${schema}.baseline_samples WHERE run_key = $1 ORDER BY seq`,
      [input.runKey],
    );
    expect(ticks).toHaveLength(r.recorded);
    // One tick per interval, none taken early: each stored after its due time.
    for (const t of ticks) expect(t.at.getTime()).toBeGreaterThanOrEqual(Date.parse(input.windowStart) + t.seq * 500);
    expect(app.served.length).toBe(10 * r.recorded);

    const window = { start: input.windowStart, end: new Date().toISOString(), durationMs: 5_000, intervalMs: 500 };
    const b = await runActivity(acts.summarizeBaseline, {
      runKey: input.runKey,
      service: 'app',
      workflowId: 'wf-http',
      runId: 'r1',
      groups: [input.group],
      window,
      minimums: { samples: 5, requests: 50 },
    });
    const g = b.groups[0];
    const appP95 = sortedP95(app.served.map((s) => s.delayMs));
    const appErrors = app.served.filter((s) => s.status !== 200).length;
    // The probe measures the app's delay plus the loopback round trip: never less (how much more
    // depends on the machine's load).
    expect(g.statistics.responseTimeMs!.p95).toBeGreaterThanOrEqual(appP95);
    expect(g.rates.errorRatePercent).toBe((appErrors / app.served.length) * 100);
    expect(g.rates.errorRatePercent).toBe(10);
    expect(g.thresholds.errorRatePercent).toEqual({ warning: 20, critical: 30 }); // 10 % → max(5, 20), max(10, 30)
    const p95 = g.statistics.responseTimeMs!.p95;
    expect(g.thresholds.p95Ms).toEqual({ warning: p95 * 1.5, critical: p95 * 2 });
    expect(b.complete).toBe(true);

    const stored = await pg.query<{ complete: boolean; service: string; samples: Record<string, number> }>(
      `SELECT complete, service, samples FROM ${schema}.baselines WHERE workflow_id = 'wf-http'`,
    );
    expect(stored).toEqual([{ complete: true, service: 'app', samples: { 'http:app': r.recorded } }]);
    expect(await runActivity(acts.latestBaseline, { service: 'app' })).toEqual(b);
    // Saving again (a retry) leaves one row.
    await runActivity(acts.summarizeBaseline, {
      runKey: input.runKey,
      service: 'app',
      workflowId: 'wf-http',
      runId: 'r1',
      groups: [input.group],
      window,
      minimums: { samples: 5, requests: 50 },
    });
    expect(await pg.count(`SELECT count(*) FROM ${schema}.baselines WHERE workflow_id = 'wf-http'`)).toBe(1);
  });

  test('a second attempt resumes after the stored ticks (and after its heartbeat), never sampling a tick twice', async () => {
    const group = { id: 'http:quiet', kind: 'http' as const, target: 'quiet' };
    const first = chunk({ group, until: 4, requestsPerSample: 2, intervalMs: 300 });
    const base = quiet.served.length;
    // Counted from what was stored: a loaded machine may miss a tick (more than an interval late),
    // but a tick is sampled once, whatever the attempts.
    const r0 = await runActivity(acts.sampleBaselineChunk, first);
    expect(r0.recorded).toBeGreaterThan(0);
    expect(quiet.served.length - base).toBe(2 * r0.recorded);
    // The retry of a chunk [0, 8) that had stored ticks 0–3 takes only 4–7.
    const r = await runActivity(acts.sampleBaselineChunk, { ...first, until: 8 });
    expect(r.recorded + r.missed).toBe(8);
    expect(r.recorded).toBeGreaterThan(r0.recorded);
    expect(r.requests).toBe(2 * r.recorded);
    expect(quiet.served.length - base).toBe(2 * r.recorded);
    const seqs = async () =>
      (
        await pg.query<{ seq: number }>(`SELECT seq FROM ${schema}.baseline_samples WHERE run_key = $1 ORDER BY seq`, [
          first.runKey,
        ])
      ).map((x) => x.seq);
    expect((await seqs()).every((q) => q < 8)).toBe(true);
    // A heartbeat saying "next tick 10" (ticks 8, 9 were taken but the insert of 9 was lost) skips to 10.
    const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { nextTick: 10 } });
    const r2 = (await env.run(acts.sampleBaselineChunk, { ...first, until: 11 })) as Awaited<
      ReturnType<typeof acts.sampleBaselineChunk>
    >;
    expect(r2.recorded + r2.missed).toBe(11);
    expect((await seqs()).filter((q) => q >= 8)).toEqual(r2.recorded > r.recorded ? [10] : []);
    expect(quiet.served.length - base).toBe(2 * r2.recorded);
  });

  test('ticks whose time passed while the worker was down are missed, not taken late', async () => {
    const group = { id: 'http:quiet', kind: 'http' as const, target: 'quiet' };
    const before = quiet.served.length;
    // The window began 10 s ago at 1 s: ticks 0–8 are long past; 9 is within its interval, 10 and 11 are due.
    const input = chunk({
      group,
      windowStart: new Date(Date.now() - 10_000 + 200).toISOString(),
      intervalMs: 1_000,
      until: 12,
      requestsPerSample: 1,
    });
    const r = await runActivity(acts.sampleBaselineChunk, input);
    // Ticks 0–8 never taken; 9–11 taken unless a loaded machine made them late too.
    const seqs = (
      await pg.query<{ seq: number }>(`SELECT seq FROM ${schema}.baseline_samples WHERE run_key = $1 ORDER BY seq`, [
        input.runKey,
      ])
    ).map((x) => x.seq);
    expect(r.recorded + r.missed).toBe(12);
    expect(r.missed).toBeGreaterThanOrEqual(9);
    expect(seqs).toHaveLength(r.recorded);
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs.every((q) => q >= 9)).toBe(true);
    expect(quiet.served.length - before).toBe(r.recorded);
  });

  test('PostgreSQL and Redis groups: counters turned into hit ratios that match the load the test put on them', async () => {
    const redis = new Redis({ host: '127.0.0.1', port: redisPort, lazyConnect: true });
    await redis.connect();
    await redis.set('k', 'v');
    const pgInput = chunk({
      group: { id: 'postgres:sampled', kind: 'postgres', target: 'sampled' },
      until: 3,
      intervalMs: 1_000,
    });
    const redisInput = chunk({
      group: { id: 'redis:cache', kind: 'redis', target: 'cache' },
      until: 3,
      intervalMs: 1_000,
      windowStart: pgInput.windowStart,
      runKey: pgInput.runKey,
    });
    // Between the first and the last tick: 150 hits and 50 misses on a Redis only this test uses,
    // sent once the first tick is stored, up to two seconds before the last is due.
    const load = (async () => {
      await waitFor(
        'the first Redis tick stored',
        async () =>
          (await pg.count(
            `SELECT count(*) FROM ${schema}.baseline_samples WHERE run_key = $1 AND grp = 'redis:cache'`,
            [pgInput.runKey],
          )) > 0,
        30_000,
        20,
      );
      // One pipeline: a single round trip, done long before the last tick however busy the machine.
      const batch = redis.pipeline();
      for (let i = 0; i < 150; i++) batch.get('k');
      for (let i = 0; i < 50; i++) batch.get(`missing-${i}`);
      await batch.exec();
    })();
    const [p, r] = await Promise.all([
      runActivity(acts.sampleBaselineChunk, pgInput),
      runActivity(acts.sampleBaselineChunk, redisInput),
      load,
    ]);
    redis.disconnect();
    expect(p).toMatchObject({ recorded: 3, missed: 0 });
    expect(r).toMatchObject({ recorded: 3, missed: 0 });
    const b = await runActivity(acts.summarizeBaseline, {
      runKey: pgInput.runKey,
      service: 'db',
      workflowId: 'wf-db',
      runId: 'r1',
      groups: [pgInput.group, redisInput.group],
      window: { start: pgInput.windowStart, end: new Date().toISOString(), durationMs: 3_000, intervalMs: 1_000 },
      minimums: { samples: 2, requests: 100 },
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
    const stored = () => pg.count(`SELECT count(*) FROM ${schema}.baseline_samples WHERE run_key = $1`, [input.runKey]);
    await waitFor('two ticks stored', async () => (await stored()) >= 2, 30_000, 20);
    env.cancel();
    await expect(run).rejects.toBeInstanceOf(CancelledFailure);
    const kept = await pg.count(`SELECT count(*) FROM ${schema}.baseline_samples WHERE run_key = $1`, [input.runKey]);
    expect(kept).toBeGreaterThanOrEqual(2);
    expect(kept).toBeLessThan(20);
  });

  test('too little traffic: insufficient data, no error rate, no response-time threshold', async () => {
    const group = { id: 'http:quiet', kind: 'http' as const, target: 'quiet' };
    const input = chunk({ group, until: 3, requestsPerSample: 1, intervalMs: 300 });
    // 3 ticks of one request (fewer when a loaded machine missed one).
    const { recorded } = await runActivity(acts.sampleBaselineChunk, input);
    expect(recorded).toBeGreaterThan(0);
    const b = await runActivity(acts.summarizeBaseline, {
      runKey: input.runKey,
      service: 'quiet',
      workflowId: 'wf-quiet',
      runId: 'r1',
      groups: [group],
      window: { start: input.windowStart, end: new Date().toISOString(), durationMs: 900, intervalMs: 300 },
      minimums: { samples: 30, requests: 100 },
    });
    expect(b.groups[0].thresholds).toEqual({
      p95Ms: { insufficient: `${recorded} requests, fewer than the minimum of 100` },
      errorRatePercent: { insufficient: `${recorded} requests, fewer than the minimum of 100` },
    });
    expect(b.groups[0].rates.errorRatePercent).toBeUndefined();
  });

  test('the gate activity takes the latest complete baseline from the store; none stored is a non-retryable refusal naming the service', async () => {
    // The HTTP test above stored a complete baseline of "app"; a later partial one must not be taken.
    const latest = (await runActivity(acts.latestBaseline, { service: 'app' }))!;
    await runActivity(acts.summarizeBaseline, {
      runKey: 'none/none',
      service: 'app',
      workflowId: 'wf-http-later',
      runId: 'r2',
      groups: [{ id: 'http:app', kind: 'http', target: 'app' }],
      window: {
        start: new Date().toISOString(),
        end: new Date(Date.now() + 1000).toISOString(),
        durationMs: 1000,
        intervalMs: 500,
      },
      minimums: { samples: 5, requests: 50 },
      partial: 'cancelled after 1s',
    });
    const g = await runActivity(acts.resolveBaselineGate, { fromBaseline: 'app' });
    const t = latest.groups[0].thresholds;
    // The gate takes the stored critical levels rounded to 0.01, as its description shows them.
    const shown = (n: number) => Math.round(n * 100) / 100;
    expect(g.gate).toEqual({
      errorRatePercent: shown((t.errorRatePercent as { critical: number }).critical),
      p95Ms: shown((t.p95Ms as { critical: number }).critical),
    });
    expect(g.baseline).toMatchObject({ workflowId: 'wf-http', runId: 'r1', complete: true });
    await expect(
      runActivity(acts.resolveBaselineGate, { fromBaseline: 'app', acceptPartial: true }),
    ).rejects.toMatchObject({
      nonRetryable: true,
      message: expect.stringMatching(
        /^gate from baseline of app taken .* \d\d:\d\d: errorRatePercent has insufficient data \(http:app: 0 requests, fewer than the minimum of 50\); p95Ms has insufficient data/,
      ),
    });
    await expect(runActivity(acts.resolveBaselineGate, { fromBaseline: 'never-measured' })).rejects.toMatchObject({
      nonRetryable: true,
      type: 'BaselineGateUnavailable',
      message:
        'gate from baseline: no complete baseline of never-measured is stored (run `opsflow start baseline` first)',
    });
    await expect(
      runActivity(acts.resolveBaselineGate, { fromBaseline: 'app', maxAge: 'soon' } as never),
    ).rejects.toMatchObject({ nonRetryable: true, type: 'InvalidInput' });
  });

  test('no store configured, or an unknown target: non-retryable, naming what is missing', async () => {
    const bare = baselineActivities(parseConfigText(JSON.stringify({}), 'test.json'));
    await expect(
      runActivity(bare.sampleBaselineChunk, chunk({ group: { id: 'host', kind: 'host' } })),
    ).rejects.toMatchObject({
      nonRetryable: true,
      message: expect.stringMatching(/config\.baseline\.store is not set/),
    });
    await expect(
      runActivity(acts.sampleBaselineChunk, chunk({ group: { id: 'redis:nope', kind: 'redis', target: 'nope' } })),
    ).rejects.toMatchObject({
      nonRetryable: true,
      message: 'unknown redis target "nope" (groups.redis: nope)',
    });
  });
});

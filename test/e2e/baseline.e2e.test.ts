import { WorkflowFailedError } from '@temporalio/client';
import { Stack, waitFor, writeConfig } from '../helpers/stack';
import { BaselineApp, startPrivateRedis } from '../helpers/baseline-app';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, requirePostgres } from '../helpers/services';
import { recordHistory } from '../helpers/histories';
import { HttpReceiver } from '../helpers/http-receiver';
import { percentile } from '../../src/domain/baseline/statistics';
import type { BaselineResult } from '../../src/workflows/baseline/workflow';
import { statusQuery } from '../../src/workflows/baseline/messages';
import type { Baseline } from '../../src/domain/baseline/baseline';

/**
 * Baselines end to end on the dev server: the CLI starts them, a worker samples a local app with a
 * known latency and error distribution through the real probe, PostgreSQL and a private Redis;
 * the numbers match the app's own record; a cancelled run keeps a partial baseline; low traffic is
 * insufficient data; `opsflow baseline show` prints what is stored.
 */
describe('performance baseline end to end', () => {
  let stack: Stack;
  const pg = new PgScratch('baseline_e2e');
  // 20 delays, 20..58 ms; every 10th request a 500: 10 % errors, in every sample of 10 requests
  // (so the rate holds however many ticks a loaded machine misses).
  const app = new BaselineApp(
    Array.from({ length: 20 }, (_, k) => 20 + 2 * k),
    10,
  );
  const quiet = new BaselineApp([5]);
  let schema: string;
  let configPath: string;
  let receiver: HttpReceiver;

  beforeAll(async () => {
    await requirePostgres();
    await Promise.all([app.start(), quiet.start()]);
    receiver = await new HttpReceiver({ honourKey: true }).start();
    schema = await pg.schema();
    const sampledDb = await pg.database();
    stack = await Stack.start();
    const redisPort = (await startPrivateRedis(stack.processes)).port;
    const config = {
      http: { app: { url: app.url, timeoutMs: 2_000 }, quiet: { url: quiet.url } },
      postgres: { store: pgConnection, orders: { ...pgConnection, database: sampledDb } },
      redis: { cache: { host: '127.0.0.1', port: redisPort } },
      baseline: { store: { postgres: 'store', schema } },
      notifiers: { ops: { type: 'webhook', url: `${receiver.url}/hook` } },
    };
    configPath = writeConfig(config);
    await stack.startWorker(config);
    // A window opens when its run starts, and a tick more than an interval late is missed: a
    // worker's first run (workflow code loaded, the store's tables made) on a busy machine began
    // sampling after most of a 12-second window had passed. A one-tick baseline warms it first.
    await stack.client.workflow.execute('performanceBaselineWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'baseline-warm-up',
      args: [
        {
          service: 'warm-up',
          groups: { host: true, http: ['quiet'], postgres: ['orders'], redis: ['cache'] },
          duration: '1s',
          interval: '1s',
          requestsPerSample: 1,
        },
      ],
    });
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([app.stop(), quiet.stop(), receiver?.stop()]);
    await pg.drop();
  });

  test('a short baseline from the CLI: every group sampled in parallel, p95 and error rate as the app recorded them, stored and shown', async () => {
    const input = {
      service: 'app',
      groups: { host: true, http: ['app'], postgres: ['orders'], redis: ['cache'] },
      // Six ticks 3 s apart: with both cores busy a tick's work (four groups, a `df`, ten requests,
      // the stores' inserts) took longer than 1 s, and a tick more than an interval late is missed.
      // The minimums leave room for missed ticks; the counts below are the ticks stored.
      duration: '18s',
      interval: '3s',
      requestsPerSample: 10,
      minimums: { samples: 2, requests: 20 },
      notify: ['ops'],
    };
    const run = await stack.cli(['-c', configPath, 'start', 'baseline', '--input', JSON.stringify(input), '--wait']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);

    const handle = stack.client.workflow.getHandle('baseline-app');
    const result = (await handle.result()) as BaselineResult;
    const b = result.baseline;
    expect(b.complete).toBe(true);
    expect(b.groups.map((g) => g.group)).toEqual(['host', 'http:app', 'postgres:orders', 'redis:cache']);
    const runKey = `baseline-app/${b.runId}`;
    const ticks = await pg.query<{ grp: string; n: string }>(
      `SELECT grp, count(*) AS n FROM ${schema}.baseline_samples WHERE run_key = $1 GROUP BY grp`,
      [runKey],
    );
    // Each group's count is the ticks it stored (6 on an idle machine, fewer when ticks were missed).
    expect(b.groups.map((g) => [g.group, g.samples])).toEqual(
      b.groups.map((g) => [g.group, Number(ticks.find((t) => t.grp === g.group)?.n ?? 0)]),
    );
    // The four groups sampled in parallel: every one took ticks of the same 18 s window, which one
    // after another would have passed (ticks more than an interval late are missed) before the last.
    for (const g of b.groups)
      expect({ group: g.group, samples: g.samples, enough: g.samples >= 2 && g.samples <= 6 }).toMatchObject({
        group: g.group,
        enough: true,
      });

    const http = b.groups[1];
    const appP95 = percentile(
      app.served.map((s) => s.delayMs),
      95,
    );
    const appErrorRate = (app.served.filter((s) => s.status !== 200).length / app.served.length) * 100;
    expect(http.requests).toBe(10 * http.samples);
    expect(app.served).toHaveLength(http.requests!);
    // The probe measures the app's delay plus the loopback round trip, so never less than the app's
    // own p95; the stored p95 is exactly the p95 of the raw latencies kept in PostgreSQL, each of
    // which covers at least the app's shortest delay. (How much more than the app's p95 depends on
    // the machine's load, so it is not asserted.)
    expect(http.statistics.responseTimeMs!.p95).toBeGreaterThanOrEqual(appP95);
    const raw = (
      await pg.query<{ sample: { latenciesMs: number[] } }>(
        `SELECT sample FROM ${schema}.baseline_samples WHERE grp = 'http:app' AND run_key = $1`,
        [`baseline-app/${b.runId}`],
      )
    ).flatMap((r) => r.sample.latenciesMs);
    expect(raw).toHaveLength(http.requests!);
    expect(Math.min(...raw)).toBeGreaterThanOrEqual(20);
    expect(http.statistics.responseTimeMs!.p95).toBe(percentile(raw, 95));
    expect(http.rates.errorRatePercent).toBe(appErrorRate);
    expect(app.served.filter((s) => s.status !== 200)).toHaveLength(http.samples);
    expect(appErrorRate).toBe(10);
    // 10 % → warning max(5, 20) = 20, critical max(10, 30) = 30; response time p95 × 1.5 / × 2.
    expect(http.thresholds.errorRatePercent).toEqual({ warning: 20, critical: 30 });
    const p95 = http.statistics.responseTimeMs!.p95;
    expect(http.thresholds.p95Ms).toEqual({ warning: p95 * 1.5, critical: p95 * 2 });
    const host = b.groups[0];
    expect(host.thresholds.cpuPercent).toHaveProperty('critical');
    expect(host.thresholds.memoryPercent).toHaveProperty('critical');

    // Raw samples in PostgreSQL, not in history.
    expect(await pg.count(`SELECT count(*) FROM ${schema}.baseline_samples WHERE run_key = $1`, [runKey])).toBe(
      b.groups.reduce((a, g) => a + g.samples, 0),
    );
    const history = (await handle.fetchHistory()).events!;
    expect(JSON.stringify(history)).not.toContain('latenciesMs');
    // One sampling activity per group for the 18-second window (a chunk spans half a minute at
    // least), so no tick waits on a round trip between two chunks.
    expect(
      history.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'sampleBaselineChunk'),
    ).toHaveLength(4);

    // The report went to the notifier, once.
    expect(result.notified).toEqual(['ops']);
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0].json).toMatchObject({ title: 'Performance baseline of app', text: result.report });

    const shown = await stack.cli(['-c', configPath, 'baseline', 'show', 'app']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('# Performance baseline: app');
    expect(shown.stdout).toContain('| errorRatePercent | 20 % / 30 % |');
    const json = await stack.cli(['-c', configPath, 'baseline', 'show', 'app', '--json']);
    expect((JSON.parse(json.stdout) as Baseline).runId).toBe(b.runId);
    recordHistory(stack.temporalAddress(), 'baseline-app', 'baseline-short');
  });

  test('cancelled mid-sampling: what was measured is stored as a partial baseline, never shown as the latest complete one', async () => {
    const before = await stack.cli(['-c', configPath, 'baseline', 'show', 'app', '--json']);
    const handle = await stack.client.workflow.start('performanceBaselineWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'baseline-app',
      args: [
        {
          service: 'app',
          groups: { host: false, http: ['quiet'] },
          duration: '60s',
          interval: '1s',
          requestsPerSample: 1,
        },
      ],
    });
    await waitFor(
      '5 ticks stored',
      async () =>
        (await pg.count(`SELECT count(*) FROM ${schema}.baseline_samples WHERE run_key = $1`, [
          `baseline-app/${handle.firstExecutionRunId}`,
        ])) >= 5
          ? true
          : undefined,
      30_000,
      200,
    );
    const status = await handle.query(statusQuery);
    expect(status.phase).toBe('sampling');
    expect(status.groups[0]).toMatchObject({ group: 'http:quiet', state: 'sampling', ticksExpected: 60 });
    await handle.cancel();
    const err = await handle.result().catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause?.name).toBe('CancelledFailure');

    const rows = await pg.query<{ complete: boolean; partial: string; samples: Record<string, number> }>(
      `SELECT complete, partial, samples FROM ${schema}.baselines WHERE run_id = $1`,
      [handle.firstExecutionRunId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].complete).toBe(false);
    expect(rows[0].partial).toMatch(/^cancelled after \d+s$/);
    const stored = await pg.count(`SELECT count(*) FROM ${schema}.baseline_samples WHERE run_key = $1`, [
      `baseline-app/${handle.firstExecutionRunId}`,
    ]);
    expect(rows[0].samples['http:quiet']).toBe(stored);
    expect(stored).toBeGreaterThanOrEqual(5);
    expect(stored).toBeLessThan(60);
    const after = await handle.query(statusQuery);
    expect(after.phase).toBe('cancelled');
    expect(after.partial).toMatch(/^cancelled after/);

    // The latest complete baseline is still the first one; --partial shows the cut one.
    expect((await stack.cli(['-c', configPath, 'baseline', 'show', 'app', '--json'])).stdout).toBe(before.stdout);
    const partial = await stack.cli(['-c', configPath, 'baseline', 'show', 'app', '--partial']);
    expect(partial.stdout).toContain('# Performance baseline: app (PARTIAL)');
    expect(partial.stdout).toMatch(/\*\*Partial:\*\* cancelled after \d+s/);
    recordHistory(stack.temporalAddress(), 'baseline-app', 'baseline-cancelled');
  });

  test('low traffic: fewer requests than the minimum gives insufficient data, not a threshold', async () => {
    const handle = await stack.client.workflow.start('performanceBaselineWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'baseline-quiet',
      args: [
        {
          service: 'quiet',
          groups: { host: false, http: ['quiet'] },
          duration: '3s',
          interval: '1s',
          requestsPerSample: 2,
        },
      ],
    });
    const { baseline, report } = (await handle.result()) as BaselineResult;
    expect(baseline.complete).toBe(true);
    // 3 ticks of 2 requests: 6 on an idle machine, fewer when a loaded one missed ticks.
    const requests = baseline.groups[0].requests!;
    expect(requests).toBe(2 * baseline.groups[0].samples);
    expect(requests).toBeLessThanOrEqual(6);
    expect(baseline.groups[0].thresholds).toEqual({
      p95Ms: { insufficient: `${requests} requests, fewer than the minimum of 100` },
      errorRatePercent: { insufficient: `${requests} requests, fewer than the minimum of 100` },
    });
    expect(report).toContain(`| p95Ms | insufficient data (${requests} requests, fewer than the minimum of 100) |`);
  });

  test('a name the config lacks is refused by the CLI before anything starts', async () => {
    const r = await stack.cli([
      '-c',
      configPath,
      'start',
      'baseline',
      '--input',
      JSON.stringify({ service: 'x', groups: { redis: ['nope'] } }),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('groups.redis.0: "nope" is not a redis target');
    const none = await stack.cli(['-c', configPath, 'baseline', 'show', 'nothing-here']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no baseline of nothing-here in the store');
  });
});

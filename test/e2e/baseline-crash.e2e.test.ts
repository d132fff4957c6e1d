import { Stack, waitFor, writeConfig, killWorker } from '../helpers/stack';
import { BaselineApp } from '../helpers/baseline-app';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, requirePostgres } from '../helpers/services';
import type { BaselineResult } from '../../src/workflows/baseline/workflow';

/**
 * The worker process is SIGKILLed in the middle of sampling, the Temporal server is killed -9 and
 * restarted on its SQLite file while no worker runs, and a worker is started again: the same run
 * finishes; the chunk that was running is retried on the new worker and resumes after the ticks
 * already stored, so no tick is stored (or sampled) twice; the ticks whose time passed while no
 * worker ran are counted as missed, and the baseline says so. And the sampled URL answering 503 for
 * a burst, then refusing connections for a while: every tick stored once, the burst counted as
 * errors, no tick missed.
 */
describe('performanceBaselineWorkflow survives a SIGKILLed worker', () => {
  let stack: Stack;
  const pg = new PgScratch('baseline_crash');
  const app = new BaselineApp([5]);
  let schema: string;
  let configPath: string;
  const env: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    await requirePostgres();
    await app.start();
    schema = await pg.schema();
    stack = await Stack.start({ persistent: true });
    configPath = writeConfig({
      http: { app: { url: app.url } },
      postgres: { store: pgConnection },
      baseline: { store: { postgres: 'store', schema } },
    });
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await app.stop();
    await pg.drop();
  }, 60_000);

  test('killed mid-window, restarted: the run completes, every tick stored once, the gap counted as missed', async () => {
    const first = stack.spawnWorkerProcess(configPath, env);
    const handle = await stack.client.workflow.start('performanceBaselineWorkflow', {
      taskQueue: 'opsflow',
      workflowId: `baseline-crash-${Date.now()}`,
      args: [
        {
          service: 'app',
          groups: { host: false, http: ['app'] },
          duration: '40s',
          interval: '1s',
          requestsPerSample: 1,
        },
      ],
    });
    const runKey = `${handle.workflowId}/${handle.firstExecutionRunId}`;
    const stored = () => pg.count(`SELECT count(*) FROM ${schema}.baseline_samples WHERE run_key = $1`, [runKey]);
    await waitFor('6 ticks stored', async () => ((await stored().catch(() => 0)) >= 6 ? true : undefined), 60_000, 200);
    await killWorker(first.child);
    const atKill = await stored();
    expect(atKill).toBeLessThan(40);
    await stack.restartServer();

    const second = stack.spawnWorkerProcess(configPath, env);
    const result = (await handle.result()) as BaselineResult;
    await killWorker(second.child);

    const group = result.baseline.groups[0];
    const ticks = await pg.query<{ seq: number }>(
      `SELECT seq FROM ${schema}.baseline_samples WHERE run_key = $1 ORDER BY seq`,
      [runKey],
    );
    expect(group.samples).toBe(ticks.length);
    // The worker was down for at least the heartbeat timeout: those ticks are missed, the rest taken.
    expect(ticks.length).toBeGreaterThan(atKill);
    expect(ticks.length).toBeLessThan(40);
    expect(ticks[ticks.length - 1].seq).toBe(39);
    // Every request the app served is a stored tick, but for at most the one in flight at the kill.
    expect(app.served.length).toBeGreaterThanOrEqual(ticks.length);
    expect(app.served.length).toBeLessThanOrEqual(ticks.length + 1);
    expect(result.baseline.complete).toBe(true);

    const history = (await handle.fetchHistory()).events!;
    const retried = history.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
    expect(retried.length).toBeGreaterThanOrEqual(1);
    // 40 ticks at 1 s in chunks of half a minute: ticks 0–29, then 30–39 (a retry is not scheduled again).
    expect(
      history.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'sampleBaselineChunk'),
    ).toHaveLength(2);
  }, 180_000);

  test('the sampled URL answers 503 for a burst, then refuses connections: every tick stored once, each failed request an error, none missed', async () => {
    const served0 = app.served.length;
    const worker = stack.spawnWorkerProcess(configPath, env);
    const handle = await stack.client.workflow.start('performanceBaselineWorkflow', {
      taskQueue: 'opsflow',
      workflowId: `baseline-burst-${Date.now()}`,
      args: [
        {
          service: 'app',
          groups: { host: false, http: ['app'] },
          duration: '20s',
          interval: '1s',
          requestsPerSample: 1,
        },
      ],
    });
    const runKey = `${handle.workflowId}/${handle.firstExecutionRunId}`;
    const stored = () => pg.count(`SELECT count(*) FROM ${schema}.baseline_samples WHERE run_key = $1`, [runKey]);
    const served = () => app.served.slice(served0);
    await waitFor('3 ticks stored', async () => ((await stored().catch(() => 0)) >= 3 ? true : undefined), 60_000, 100);
    app.fail503(3);
    await waitFor('3 answers 503', () => served().filter((r) => r.status === 503).length === 3, 60_000, 50);
    // Then refusing, held down until two ticks are stored that never reached the app (a tick
    // answered just before the stop may be stored after it: counted by what the app served).
    const port = app.port;
    await app.stop();
    try {
      await waitFor(
        '2 ticks stored while refused',
        async () => ((await stored()) - served().length >= 2 ? true : undefined),
        60_000,
        100,
      );
    } finally {
      await app.start(port);
    }
    const result = (await handle.result()) as BaselineResult;
    await killWorker(worker.child);

    const ticks = await pg.query<{ seq: number; errors: number }>(
      `SELECT seq, (sample->>'errors')::int AS errors FROM ${schema}.baseline_samples WHERE run_key = $1 ORDER BY seq`,
      [runKey],
    );
    // every tick once, none missed: a failed request is an answer the baseline counts, not a gap
    expect(ticks.map((t) => t.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const answered = served();
    const refused = ticks.length - answered.length;
    expect(refused).toBeGreaterThanOrEqual(2);
    const errors = answered.filter((r) => r.status !== 200).length + refused;
    expect(answered.filter((r) => r.status === 503)).toHaveLength(3);
    expect(ticks.reduce((a, t) => a + t.errors, 0)).toBe(errors);
    const group = result.baseline.groups[0];
    expect(group).toMatchObject({ samples: 20, requests: 20, errors });
    expect(result.baseline.complete).toBe(true);
  }, 180_000);
});

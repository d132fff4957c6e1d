import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { WorkflowFailedError } from '@temporalio/client';
import { Stack } from '../helpers/stack';
import { freePort, waitFor } from '../helpers/ports';
import { blueGreenBehindHaproxy, measureSplit, type Haproxy, type startBackend } from '../helpers/haproxy';
import { PgScratch } from '../helpers/pg-scratch';
import { recordHistory } from '../helpers/histories';
import { pgConnection, requirePostgres } from '../helpers/services';
import { runtimeApiCommand } from '../../src/activities/systems/load-balancer/haproxy-runtime-api';
import { isSufficient } from '../../src/domain/baseline/thresholds';
import type { Baseline } from '../../src/domain/baseline/baseline';
import type { BaselineResult } from '../../src/workflows/baseline/workflow';
import type { HealthCheckResult } from '../../src/workflows/health/workflow';
import { abortSignal, statusQuery } from '../../src/workflows/rollout/messages';

/**
 * The baseline sets the gates, end to end on the dev server: a short real baseline of the service
 * as it runs behind a real HAProxy (blue answering in ~50 ms) is stored in PostgreSQL; a rollout
 * with `"gate": { "fromBaseline": "shop" }` then judges the new backend by that baseline's
 * critical p95, not by the default 3000 ms; the health check takes its CPU and memory levels from
 * the same baseline.
 */
/**
 * A TCP relay in front of HAProxy: the way a probe reaches the service until `dryUp()`, after
 * which every connection is cut and new ones are refused (traffic that dried up, for a probe that
 * keeps its connections alive through a paused HAProxy frontend).
 */
class Relay {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly to: number) {}
  get url() {
    return `http://127.0.0.1:${this.port}/`;
  }
  async start(): Promise<this> {
    this.port = await freePort();
    this.server = createServer((client) => {
      const upstream = createConnection(this.to, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) =>
      this.server!.once('error', reject).listen(this.port, '127.0.0.1', resolve),
    );
    return this;
  }
  dryUp(): void {
    this.server?.close();
    for (const s of this.sockets) s.destroy();
  }
}

/**
 * The new backend's delay when it is too slow for the baseline: far over blue's ~50 ms (the critical
 * p95 is blue's p95 × 2, and a loaded machine adds to every answer), under the default 3000 ms.
 */
const GREEN_SLOW_MS = 2500;

describe('gates from a baseline (dev server, real HAProxy, PostgreSQL)', () => {
  let stack: Stack;
  let haproxy: Haproxy;
  let blue: Awaited<ReturnType<typeof startBackend>>;
  let green: Awaited<ReturnType<typeof startBackend>>;
  const pg = new PgScratch('gate_from_baseline');
  let baseline: Baseline;
  let relay: Relay;
  const api = (cmd: string) => runtimeApiCommand({ socket: haproxy.socket }, cmd, 5000);
  const weight = async (server: string) => Number((await api(`get weight app/${server}`)).split(' ')[0]);
  const status = (id: string) => stack.client.workflow.getHandle(id).query(statusQuery);
  const rollout = (service: string, extra: Record<string, unknown> = {}) => ({
    service,
    lb: 'edge',
    backends: { old: 'blue', new: 'green' },
    metricSources: ['through-lb'],
    gate: { fromBaseline: 'shop' },
    sampleInterval: '1s',
    steps: [
      { weight: 30, window: '20s' },
      { weight: 100, window: '2s' },
    ],
    ...extra,
  });
  const when = (iso: string) => iso.replace('T', ' ').slice(0, 16);

  beforeAll(async () => {
    await requirePostgres();
    stack = await Stack.start();
    ({ blue, green, haproxy } = await blueGreenBehindHaproxy(stack.processes));
    const schema = await pg.schema();
    relay = await new Relay(haproxy.port).start();
    await stack.startWorker({
      http: { shop: { url: `${haproxy.url}/`, timeoutMs: 5_000 } },
      postgres: { store: { ...pgConnection } },
      baseline: { store: { postgres: 'store', schema } },
      loadBalancers: { edge: { type: 'haproxy', runtimeApi: { socket: haproxy.socket }, backend: 'app' } },
      metricSources: {
        'through-lb': {
          type: 'probe',
          url: `${haproxy.url}/`,
          requests: 20,
          minRequests: 10,
          concurrency: 4,
          timeoutMs: 10_000,
        },
        'through-relay': {
          type: 'probe',
          url: relay.url,
          requests: 40,
          minRequests: 20,
          concurrency: 4,
          timeoutMs: 5000,
        },
      },
    });
    // The service as it normally runs: blue alone, answering in about 50 ms. A tick's 3 requests one
    // after another take a fraction of the 2 s interval even when both cores are busy (when they
    // take longer than the interval, ticks fall more than an interval late and are missed); the
    // minimums leave room for a few missed ticks.
    await blue.setDelay(50);
    // The window opens when the run starts, and a tick more than an interval late is missed: a
    // worker's first run (workflow code loaded, the store's tables made) on a busy machine started
    // sampling most of a short window late. A one-tick baseline of another service warms it first.
    await stack.client.workflow.execute('performanceBaselineWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'baseline-warm-up',
      args: [
        {
          service: 'warm-up',
          groups: { host: true, http: ['shop'] },
          duration: '1s',
          interval: '1s',
          requestsPerSample: 1,
        },
      ],
    });
    const handle = await stack.client.workflow.start('performanceBaselineWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'baseline-shop',
      args: [
        {
          service: 'shop',
          groups: { host: true, http: ['shop'] },
          duration: '12s',
          interval: '2s',
          requestsPerSample: 3,
          minimums: { samples: 2, requests: 6 },
        },
      ],
    });
    baseline = ((await handle.result()) as BaselineResult).baseline;
  }, 240_000);

  afterAll(async () => {
    relay?.dryUp();
    await stack?.stop();
    await haproxy?.stop();
    await pg.drop();
  });

  beforeEach(async () => {
    await green.setDelay(0);
    for (const cmd of [
      'set server app/blue weight 100',
      'set server app/green weight 0',
      'set server app/blue state ready',
      'set server app/green state ready',
    ])
      await api(cmd);
  });

  test('the baseline measured blue: a critical p95 far under the default 3000 ms', () => {
    expect(baseline.complete).toBe(true);
    const p95 = baseline.groups.find((g) => g.group === 'http:shop')!.thresholds.p95Ms;
    if (!isSufficient(p95)) throw new Error(`the baseline has no p95 threshold: ${JSON.stringify(p95)}`);
    // p95 × 2 of answers that take ~50 ms (plus the machine's own delay, which load lengthens):
    // stricter than the default gate.
    expect(p95.critical).toBeGreaterThanOrEqual(100);
    expect(p95.critical).toBeLessThan(3000);
  });

  test("a new backend under 3000 ms but over the baseline's critical p95 is rolled back: HAProxy reads 0 for it, the old side serves, the failure names the baseline", async () => {
    // The gate takes the baseline's critical p95, rounded to 0.01 as the run shows it.
    const critical =
      Math.round(
        (baseline.groups.find((g) => g.group === 'http:shop')!.thresholds.p95Ms as { critical: number }).critical * 100,
      ) / 100;
    await green.setDelay(GREEN_SLOW_MS);
    const handle = await stack.client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'rollout-shop',
      args: [rollout('shop')],
    });
    const err = await handle.result().catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const description = `gate from baseline of shop taken ${when(baseline.window.end)}: errorRatePercent 10 %, p95Ms ${critical} ms`;
    expect(err.cause.message).toMatch(
      /^rollout of shop rolled back at step 1\/2 \(30 %\): p95Ms ([\d.]+) ms > ([\d.]+) ms \(through-lb\); /,
    );
    const [, p95, max] = /p95Ms ([\d.]+) ms > ([\d.]+) ms/.exec(err.cause.message)!;
    // Judged by the baseline's critical p95, stricter than the default 3000 ms.
    expect(Number(max)).toBe(critical);
    expect(critical).toBeLessThan(3000);
    expect(Number(p95)).toBeGreaterThan(critical);
    expect(err.cause.message.endsWith(`; ${description}`)).toBe(true);

    expect(await weight('green')).toBe(0);
    expect(await weight('blue')).toBe(100);
    const m = await measureSplit(haproxy.url, 200);
    expect(m.errors).toBe(0);
    expect(m.counts.green ?? 0).toBe(0);
    expect(m.counts.blue).toBe(200);

    const s = await status('rollout-shop');
    expect(s.state).toBe('rolled-back');
    expect(s.gateFrom).toMatchObject({
      gate: { errorRatePercent: 10, p95Ms: critical },
      sources: { p95Ms: 'baseline http:shop' },
      baseline: { workflowId: 'baseline-shop', runId: baseline.runId },
      description,
    });
    expect(s.plan?.gate).toEqual({ errorRatePercent: 10, p95Ms: critical });
    expect(s.decisions.map((d) => d.decision)).toEqual(expect.arrayContaining([description]));
    recordHistory(stack.temporalAddress(), 'rollout-shop', 'phased-rollout-haproxy-gate-from-baseline');
  });

  test('with no baseline of the service the start fails saying so, and nothing moves', async () => {
    const handle = await stack.client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'rollout-cart',
      args: [rollout('cart', { gate: { fromBaseline: 'cart' } })],
    });
    const err = await handle.result().catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause.message).toBe(
      'cannot roll out cart, nothing was changed: gate from baseline: no complete baseline of cart is stored (run `opsflow start baseline` first)',
    );
    expect(await weight('green')).toBe(0);
    expect((await status('rollout-cart')).state).toBe('failed');
    // Explicit fallback thresholds are used instead when given.
    const fallback = await stack.client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'rollout-cart',
      args: [
        rollout('cart', {
          gate: { fromBaseline: 'cart', fallback: { errorRatePercent: 5, p95Ms: 3000 } },
          steps: [
            { weight: 30, window: '2s' },
            { weight: 100, window: '2s' },
          ],
          cleanup: 'none',
        }),
      ],
    });
    expect((await fallback.result()).outcome).toBe('succeeded');
    expect((await status('rollout-cart')).gateFrom?.description).toMatch(
      /^gate from explicit thresholds \(no complete baseline of cart is stored .*\): errorRatePercent 5 %, p95Ms 3000 ms$/,
    );
  });

  test('the health check takes its CPU and memory levels from the same baseline (disk from the config)', async () => {
    const host = baseline.groups.find((g) => g.group === 'host')!.thresholds;
    const cpu = host.cpuPercent!;
    const mem = host.memoryPercent!;
    if (!isSufficient(cpu) || !isSufficient(mem))
      throw new Error(`the baseline has no host thresholds: ${JSON.stringify(host)}`);
    const result = (await stack.client.workflow.execute('healthCheckWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'health-from-baseline',
      args: [
        {
          targets: { systemd: [], http: [], postgres: [], redis: [], hosts: [], resources: true },
          thresholds: { fromBaseline: 'shop' },
        },
      ],
    })) as HealthCheckResult;
    expect(result.thresholdsFrom).toMatch(
      new RegExp(`^thresholds from baseline of shop taken ${when(baseline.window.end)}: cpuPercent `),
    );
    const check = (kind: string) => result.checks.find((c) => c.kind === kind)!;
    const r2 = (n: number) => Math.round(n * 100) / 100;
    expect(check('cpu').message).toContain(`(warning > ${r2(cpu.warning)}%, critical > ${r2(cpu.critical)}%)`);
    expect(check('memory').message).toContain(`(warning > ${r2(mem.warning)}%, critical > ${r2(mem.critical)}%)`);
    expect(check('disk').message).toContain('(warning > 80%, critical > 85%)');
    // Judged by those levels, not the defaults.
    const level = (v: number, l: { warning: number; critical: number }) =>
      v > l.critical ? 'critical' : v > l.warning ? 'warning' : 'healthy';
    expect(check('memory').status).toBe(
      level(check('memory').value!, { warning: r2(mem.warning), critical: r2(mem.critical) }),
    );
    recordHistory(stack.temporalAddress(), 'health-from-baseline', 'health-check-thresholds-from-baseline');
  });

  test('low traffic: a probe answered fewer times than its minimum is inconclusive — held, never passed on, never rolled back by the gate', async () => {
    const handle = await stack.client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'rollout-quiet',
      args: [
        rollout('quiet', {
          gate: { fromBaseline: 'shop' },
          metricSources: ['through-relay'],
          steps: [
            { weight: 30, window: '30s' },
            { weight: 100, window: '2s' },
          ],
          inconclusive: { maxConsecutive: 3 },
          holdTimeout: '5m',
        }),
      ],
    });
    await waitFor('step 1 monitoring', async () => (await status('rollout-quiet')).state === 'monitoring', 60_000);
    // The traffic dries up: the probe's requests are cut or refused, none answered.
    relay.dryUp();
    await waitFor('held', async () => (await status('rollout-quiet')).state === 'held', 60_000).catch(async (e) => {
      const st = await status('rollout-quiet');
      throw new Error(
        `${e.message}: ${JSON.stringify({ state: st.state, step: st.step, last: st.lastSamples, d: st.decisions.slice(-5) })}`,
      );
    });
    const s = await status('rollout-quiet');
    expect(s.step).toBe(1); // the window never passed on inconclusive samples
    expect(s.counters.totalFailures).toBe(0);
    const last = s.lastSamples.at(-1)!;
    expect(last.verdict).toBe('inconclusive');
    // The probe watches its whole interval in bursts of 40, so the count of requests sent is a
    // multiple of 40 that depends on how long the interval was watched; too few were answered.
    const [, answered, sent] =
      /p95Ms \(through-relay\): (\d+) of (\d+) requests answered, fewer than minRequests 20/.exec(last.summary) ?? [];
    expect(Number(sent) % 40).toBe(0);
    expect(Number(answered)).toBeLessThan(20);
    expect(await weight('green')).toBe(30);
    await handle.signal(abortSignal, { by: 'test', reason: 'low traffic' });
    const err = await handle.result().catch((e) => e);
    expect(err.cause.message).toMatch(
      /^rollout of quiet aborted by test at step 1\/2 \(\d+ %\) while held: low traffic$/,
    );
    expect(await weight('green')).toBe(0);
  });
});

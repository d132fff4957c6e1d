import { cpus } from 'node:os';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ProcessGroup } from '../helpers/processes';
import { Exporter, Prometheus } from '../helpers/prometheus';
import { startBackend } from '../helpers/haproxy';
import { freePort, waitFor } from '../helpers/ports';
import { burnCpu, cpuPercentBetween, cpuTicks, memoryPercentFromProc } from '../helpers/host-figures';
import { parseConfigText } from '../../src/config/load';
import { metricActivities } from '../../src/activities/systems/metrics';
import { evaluateGate, type Sample } from '../../src/domain/gate/evaluate';

/**
 * The gate's metric sources against real things: a real Prometheus scraping a local exporter
 * (default PromQL for the 5xx ratio, mean and p95), an HTTP probe against a real service, and the
 * host. Empty, NaN and unreachable are inconclusive, never a pass.
 */
describe('rollout metric sources (real Prometheus, real HTTP service)', () => {
  const processes = new ProcessGroup();
  let exporter: Exporter;
  let prometheus: Prometheus;
  let acts: ReturnType<typeof metricActivities>;
  let svc: Awaited<ReturnType<typeof startBackend>>;
  const env = new MockActivityEnvironment();
  const sample = (service: string, sources: string[]): Promise<Sample> =>
    env.run(acts.sampleRolloutMetrics, { service, sources });
  const value = (s: Sample, metric: string, source: string) =>
    s.readings.find((r) => r.metric === metric && r.source === source);

  beforeAll(async () => {
    exporter = await new Exporter().start();
    exporter.traffic('shop', 200, 0.1, 0.08); // 10 % errors, 80 ms each
    exporter.traffic('calm', 200, 0, 0.08);
    exporter.declare('idle'); // series exist, no traffic: 0/0
    prometheus = await new Prometheus(processes, [`127.0.0.1:${exporter.port}`]).start();
    svc = await startBackend(processes, 'svc');
    const closed = await freePort();
    acts = metricActivities(
      parseConfigText(
        JSON.stringify({
          metricSources: {
            prom: { type: 'prometheus', url: prometheus.url },
            'prom-down': { type: 'prometheus', url: `http://127.0.0.1:${closed}` },
            probe: { type: 'probe', url: `${svc.url}/`, requests: 40, minRequests: 20, concurrency: 4 },
            'probe-down': { type: 'probe', url: `http://127.0.0.1:${closed}/`, requests: 10, minRequests: 5 },
            host: { type: 'host' },
          },
        }),
        'test.json',
      ),
    );
    // rate() over [1m] needs two scrapes of moving counters.
    await waitFor(
      'Prometheus has a rate for shop',
      async () => {
        const r = await prometheus.query('sum(rate(http_requests_total{service="shop"}[1m]))');
        return Number(r.data?.result?.[0]?.value?.[1]) > 0 ? true : undefined;
      },
      60_000,
      500,
    );
  }, 120_000);
  afterAll(async () => {
    await prometheus?.stop();
    await exporter?.stop();
    await processes.stopAll();
  });

  test('Prometheus: default PromQL gives the 5xx ratio, mean and p95 latency; the gate fails on 10 % errors', async () => {
    const s = await sample('shop', ['prom']);
    expect(value(s, 'errorRatePercent', 'prom')?.value).toBeCloseTo(10, 0);
    expect(value(s, 'responseTimeMs', 'prom')?.value).toBeCloseTo(80, 0);
    const p95 = value(s, 'p95Ms', 'prom')?.value;
    expect(p95).toBeGreaterThan(50);
    expect(p95).toBeLessThanOrEqual(100);
    const gate = evaluateGate({ errorRatePercent: 5, responseTimeMs: 3000 }, s);
    expect(gate.verdict).toBe('fail');
    expect(gate.failures[0]).toMatchObject({ metric: 'errorRatePercent', source: 'prom', max: 5 });
    expect(evaluateGate({ errorRatePercent: 5, responseTimeMs: 3000 }, await sample('calm', ['prom'])).verdict).toBe(
      'pass',
    );
  });

  test('Prometheus: an empty result, NaN (no traffic) and an unreachable server are inconclusive', async () => {
    const ghost = await sample('ghost', ['prom']);
    expect(value(ghost, 'errorRatePercent', 'prom')).toMatchObject({
      inconclusive: expect.stringMatching(/empty result/),
    });
    const idle = await sample('idle', ['prom']);
    expect(value(idle, 'errorRatePercent', 'prom')).toMatchObject({ inconclusive: expect.stringMatching(/NaN/) });
    expect(evaluateGate({ errorRatePercent: 5 }, idle).verdict).toBe('inconclusive');
    const down = await sample('shop', ['prom-down']);
    expect(value(down, 'errorRatePercent', 'prom-down')).toMatchObject({
      inconclusive: expect.stringMatching(/unreachable/),
    });
    expect(evaluateGate({ errorRatePercent: 5 }, down).verdict).toBe('inconclusive');
  });

  test('probe: N requests give error rate and latencies; a failing service fails the gate; too few answers are inconclusive', async () => {
    await svc.setStatus(200);
    const ok = await sample('svc', ['probe']);
    expect(value(ok, 'errorRatePercent', 'probe')?.value).toBe(0);
    expect(value(ok, 'p99Ms', 'probe')?.value).toBeGreaterThan(0);
    expect(evaluateGate({ errorRatePercent: 5, p95Ms: 3000 }, ok).verdict).toBe('pass');
    await svc.setStatus(500);
    const bad = await sample('svc', ['probe']);
    expect(value(bad, 'errorRatePercent', 'probe')?.value).toBe(100);
    expect(evaluateGate({ errorRatePercent: 5 }, bad).verdict).toBe('fail');
    await svc.setStatus(200);
    const down = await sample('svc', ['probe-down']);
    expect(value(down, 'errorRatePercent', 'probe-down')).toMatchObject({
      inconclusive: expect.stringMatching(/0 of 10 requests answered, fewer than minRequests 5/),
    });
  });

  test('host: CPU and memory of this machine, as the kernel counts them over the same moment', async () => {
    // The CPU figure is the load since the previous reading: take one, keep a core busy, take the
    // next, and compare with /proc/stat read around the same interval.
    await sample('any', ['host']);
    const before = cpuTicks();
    const memBefore = memoryPercentFromProc();
    burnCpu(1500);
    const after = cpuTicks();
    const s = await sample('any', ['host']);
    const memAfter = memoryPercentFromProc();
    const os = cpuPercentBetween(before, after);
    expect(os).toBeGreaterThan(100 / cpus().length - 10); // one of the cores was busy all along
    const cpu = value(s, 'cpuPercent', 'host')?.value;
    expect(Math.abs(cpu! - os)).toBeLessThanOrEqual(10);
    const mem = value(s, 'memoryPercent', 'host')?.value;
    expect(mem).toBeGreaterThanOrEqual(Math.min(memBefore, memAfter) - 2);
    expect(mem).toBeLessThanOrEqual(Math.max(memBefore, memAfter) + 2);
  });

  test('an unknown source is non-retryable and named', async () => {
    const err = await sample('shop', ['nope']).catch((e: any) => e);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/unknown metric source "nope"/);
  });
});

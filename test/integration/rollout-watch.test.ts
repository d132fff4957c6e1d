import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import { ProcessGroup } from '../helpers/processes';
import { startBackend } from '../helpers/haproxy';
import { freePort } from '../helpers/ports';
import { parseConfigText } from '../../src/config/load';
import { metricActivities } from '../../src/activities/systems/metrics';
import { evaluateGate } from '../../src/domain/gate/evaluate';
import type { WatchedSample } from '../../src/activities/systems/metrics/watch';

/**
 * The rollout's watch of one sample interval against a real HTTP service: a failing service ends
 * it as soon as the failure is conclusive, a healthy one is watched to the end, a service that
 * does not answer gets one more interval and then is inconclusive, and a cancel stops it.
 */
describe('watching a sample interval (real HTTP service)', () => {
  const processes = new ProcessGroup();
  let svc: Awaited<ReturnType<typeof startBackend>>;
  let acts: ReturnType<typeof metricActivities>;
  const gate = { errorRatePercent: 5 };
  const watch = (sources: string[], durationMs: number, env = new MockActivityEnvironment()): Promise<WatchedSample> =>
    env.run(acts.watchRolloutMetrics, { service: 'svc', sources, gate, durationMs });

  beforeAll(async () => {
    svc = await startBackend(processes, 'svc');
    const closed = await freePort();
    acts = metricActivities(
      parseConfigText(
        JSON.stringify({
          metricSources: {
            probe: {
              type: 'probe',
              url: `${svc.url}/`,
              requests: 20,
              minRequests: 10,
              concurrency: 4,
              timeoutMs: 3000,
            },
            'probe-down': {
              type: 'probe',
              url: `http://127.0.0.1:${closed}/`,
              requests: 5,
              minRequests: 5,
              pauseMs: 200,
            },
          },
        }),
        'test.json',
      ),
    );
  }, 60_000);
  afterAll(() => processes.stopAll());
  afterEach(() => svc.setStatus(200));

  test('a failing service ends a 60 s watch early, with readings that fail the gate', async () => {
    await svc.setStatus(500);
    const s = await watch(['probe'], 60_000);
    expect(s.early).toMatch(
      /^probe: errorRatePercent 100 > 5 over the last \d+ requests, conclusive at 0.9999 confidence$/,
    );
    expect(s.watchedMs).toBeLessThan(60_000);
    const r = evaluateGate(gate, s);
    expect(r.verdict).toBe('fail');
    expect(r.failures[0]).toMatchObject({ metric: 'errorRatePercent', source: 'probe', value: 100 });
  }, 90_000);

  test('a healthy service is watched for the whole interval, and many bursts are judged as one sample', async () => {
    const s = await watch(['probe'], 3_000);
    expect(s.early).toBeUndefined();
    expect(s.watchedMs).toBeGreaterThanOrEqual(3_000);
    expect(s.requests).toBeGreaterThan(20); // more than one burst went into the sample
    expect(evaluateGate(gate, s).verdict).toBe('pass');
  }, 60_000);

  test('a short interval is watched with its pauses shortened to a tenth of it', async () => {
    // pauseMs is the default 500: unshortened, a 2 s watch holds at most 5 bursts of 20 (at 0,
    // ~0.5, ~1, ~1.5 s and the one at its end); at 200 ms pauses it holds more, even on a busy machine.
    const s = await watch(['probe'], 2_000);
    expect(s.early).toBeUndefined();
    expect(s.requests).toBeGreaterThanOrEqual(120);
    expect(evaluateGate(gate, s).verdict).toBe('pass');
  }, 60_000);

  test('too few answers extend the watch by one interval, then the readings are inconclusive (never a pass)', async () => {
    const s = await watch(['probe-down'], 1_000);
    expect(s.extended).toBe(true);
    expect(s.watchedMs).toBeGreaterThanOrEqual(2_000);
    const r = evaluateGate(gate, s);
    expect(r.verdict).toBe('inconclusive');
    expect(r.inconclusive[0].reason).toMatch(/0 of \d+ requests answered, fewer than minRequests 5/);
  }, 60_000);

  test('a cancel stops the watch', async () => {
    const env = new MockActivityEnvironment();
    const watching = watch(['probe'], 60_000, env);
    setTimeout(() => env.cancel(), 1_500);
    await expect(watching).rejects.toBeInstanceOf(CancelledFailure);
  }, 60_000);
});

import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { ProcessGroup } from '../helpers/processes';
import { Haproxy, measureSplit, startBackend } from '../helpers/haproxy';
import { parseConfigText } from '../../src/config/load';
import { loadBalancerActivities } from '../../src/activities/load-balancer';
import { runtimeApiCommand } from '../../src/activities/load-balancer/haproxy-runtime-api';

/**
 * The HAProxy adapter against a real HAProxy in front of two real backends: weights set through the
 * Runtime API (socket and TCP), read back, and measured by sending requests through the proxy.
 */
describe('HAProxy load-balancer adapter (real HAProxy)', () => {
  const processes = new ProcessGroup();
  let haproxy: Haproxy;
  let acts: ReturnType<typeof loadBalancerActivities>;
  const env = new MockActivityEnvironment();
  const run = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A) => env.run(fn, ...args) as Promise<R>;

  beforeAll(async () => {
    const blue = await startBackend(processes, 'blue');
    const green = await startBackend(processes, 'green');
    haproxy = await new Haproxy(processes, [
      { name: 'blue', port: blue.port, weight: 100 },
      { name: 'green', port: green.port, weight: 0 },
    ]).start();
    const config = parseConfigText(
      JSON.stringify({
        loadBalancers: {
          edge: { type: 'haproxy', runtimeApi: { socket: haproxy.socket }, backend: 'app' },
          'edge-tcp': { type: 'haproxy', runtimeApi: { host: '127.0.0.1', port: haproxy.apiPort }, backend: 'app' },
          'wrong-backend': { type: 'haproxy', runtimeApi: { socket: haproxy.socket }, backend: 'nope' },
        },
      }),
      'test.json',
    );
    acts = loadBalancerActivities(config);
  });
  afterAll(async () => {
    await haproxy?.stop();
    await processes.stopAll();
  });

  test('10 %, 30 %, 100 %: weights read back from the Runtime API and measured over 1000 requests', async () => {
    for (const [percent, tolerance] of [[10, 4], [30, 5], [100, 0]] as const) {
      const reading = await run(acts.setTrafficSplit, { lb: 'edge', old: 'blue', new: 'green', newPercent: percent });
      expect(reading.newPercent).toBe(percent);
      expect(reading.weights).toEqual({ blue: 100 - percent, green: percent });
      expect(await runtimeApiCommand({ socket: haproxy.socket }, 'get weight app/green', 5000)).toMatch(new RegExp(`^${percent} `));
      const m = await measureSplit(haproxy.url, 1000);
      expect(m.errors).toBe(0);
      expect(Math.abs(m.percent('green') - percent)).toBeLessThanOrEqual(tolerance);
    }
  });

  test('setting the same split twice is harmless; the TCP Runtime API reads the same', async () => {
    await run(acts.setTrafficSplit, { lb: 'edge-tcp', old: 'blue', new: 'green', newPercent: 30 });
    const again = await run(acts.setTrafficSplit, { lb: 'edge-tcp', old: 'blue', new: 'green', newPercent: 30 });
    expect(again.weights).toEqual({ blue: 70, green: 30 });
    expect(await run(acts.readTrafficSplit, { lb: 'edge', old: 'blue', new: 'green' })).toMatchObject({ newPercent: 30 });
  });

  test('rollback to 0 %: nothing reaches the new backend', async () => {
    await run(acts.setTrafficSplit, { lb: 'edge', old: 'blue', new: 'green', newPercent: 0 });
    const m = await measureSplit(haproxy.url, 200);
    expect(m.counts.green ?? 0).toBe(0);
    expect(m.counts.blue).toBe(200);
  });

  test('server state drain, maint, ready: set and read back', async () => {
    for (const state of ['drain', 'maint', 'ready'] as const) {
      expect(await run(acts.setLoadBalancerServerState, { lb: 'edge', server: 'green', state })).toBe(state);
      const table = await runtimeApiCommand({ socket: haproxy.socket }, 'show servers state app', 5000);
      const row = table.split('\n').find((l) => l.split(' ')[3] === 'green')!;
      const admin = Number(row.split(' ')[6]);
      expect(state === 'ready' ? admin === 0 : state === 'drain' ? (admin & 0x18) !== 0 : (admin & 0x01) !== 0).toBe(true);
    }
  });

  test('an unknown server or backend is non-retryable and named; the weights stay as they were', async () => {
    await run(acts.setTrafficSplit, { lb: 'edge', old: 'blue', new: 'green', newPercent: 10 });
    const err = await run(acts.setTrafficSplit, { lb: 'edge', old: 'blue', new: 'purple', newPercent: 50 }).catch((e) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/server "purple" in HAProxy backend "app"/);
    const b = await run(acts.readTrafficSplit, { lb: 'wrong-backend', old: 'blue', new: 'green' }).catch((e) => e);
    expect(b.nonRetryable).toBe(true);
    expect(b.message).toMatch(/HAProxy backend "nope"/);
    const lb = await run(acts.setTrafficSplit, { lb: 'nowhere', old: 'blue', new: 'green', newPercent: 10 }).catch((e) => e);
    expect(lb.nonRetryable).toBe(true);
    expect(lb.message).toMatch(/unknown load balancer "nowhere"/);
    expect(await run(acts.readTrafficSplit, { lb: 'edge', old: 'blue', new: 'green' })).toMatchObject({ weights: { blue: 90, green: 10 } });
  });
});

import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { ProcessGroup } from '../helpers/processes';
import { Haproxy, measureSplit, startBackend } from '../helpers/haproxy';
import { parseConfigText } from '../../src/config/load';
import { applySplit, loadBalancerActivities } from '../../src/activities/systems/load-balancer';
import { runtimeApiCommand } from '../../src/activities/systems/load-balancer/haproxy-runtime-api';
import { haproxyAdapter } from '../../src/activities/systems/load-balancer/haproxy';
import type { HaproxyLoadBalancerConfig } from '../../src/config/sections/load-balancers';

/**
 * The HAProxy adapter against a real HAProxy in front of two real backends: weights set through the
 * Runtime API (socket and TCP), read back, and measured by sending requests through the proxy.
 */
describe('HAProxy load-balancer adapter (real HAProxy)', () => {
  const processes = new ProcessGroup();
  let haproxy: Haproxy;
  let acts: ReturnType<typeof loadBalancerActivities>;
  let edgeCfg: HaproxyLoadBalancerConfig;
  const api = (cmd: string) => runtimeApiCommand({ socket: haproxy.socket }, cmd, 5000);
  /** srv_admin_state of a server in backend app (0: ready). */
  const adminState = async (name: string) => {
    const row = (await api('show servers state app')).split('\n').find((l) => l.split(' ')[3] === name)!;
    return Number(row.split(' ')[6]);
  };
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
    edgeCfg = config.loadBalancers.edge as HaproxyLoadBalancerConfig;
  });
  afterAll(async () => {
    await haproxy?.stop();
    await processes.stopAll();
  });

  test('10 %, 30 %, 100 %: weights read back from the Runtime API and measured over 1000 requests', async () => {
    for (const [percent, tolerance] of [
      [10, 4],
      [30, 5],
      [100, 0],
    ] as const) {
      const reading = await run(acts.setTrafficSplit, { lb: 'edge', old: 'blue', new: 'green', newPercent: percent });
      expect(reading.newPercent).toBe(percent);
      expect(reading.weights).toEqual({ blue: 100 - percent, green: percent });
      expect(reading.states).toEqual({ blue: 'ready', green: 'ready' });
      expect(await api('get weight app/green')).toMatch(new RegExp(`^${percent} `));
      expect(await api('get weight app/blue')).toMatch(new RegExp(`^${100 - percent} `));
      const m = await measureSplit(haproxy.url, 1000);
      expect(m.errors).toBe(0);
      expect(Math.abs(m.percent('green') - percent)).toBeLessThanOrEqual(tolerance);
      // The old side answers the rest, and nothing else answers (no 503 from an empty backend).
      expect(Math.abs(m.percent('blue') - (100 - percent))).toBeLessThanOrEqual(tolerance);
      expect((m.counts.blue ?? 0) + (m.counts.green ?? 0)).toBe(1000);
    }
  });

  test('setting the same split twice is harmless; the TCP Runtime API reads the same', async () => {
    await run(acts.setTrafficSplit, { lb: 'edge-tcp', old: 'blue', new: 'green', newPercent: 30 });
    const again = await run(acts.setTrafficSplit, { lb: 'edge-tcp', old: 'blue', new: 'green', newPercent: 30 });
    expect(again.weights).toEqual({ blue: 70, green: 30 });
    expect(await run(acts.readTrafficSplit, { lb: 'edge', old: 'blue', new: 'green' })).toMatchObject({
      newPercent: 30,
    });
  });

  test('rollback to 0 %: nothing reaches the new backend, the old one answers everything', async () => {
    const reading = await run(acts.setTrafficSplit, { lb: 'edge', old: 'blue', new: 'green', newPercent: 0 });
    expect(reading).toMatchObject({ newPercent: 0, weights: { blue: 100, green: 0 }, states: { blue: 'ready' } });
    expect(await api('get weight app/blue')).toMatch(/^100 /);
    expect(await adminState('blue')).toBe(0);
    const m = await measureSplit(haproxy.url, 200);
    expect(m.errors).toBe(0);
    expect(m.counts.green ?? 0).toBe(0);
    expect(m.counts.blue).toBe(200);
  });

  test('both weights 0, set on the real HAProxy: a full outage, and the read-back refuses it instead of reading "0 % new"', async () => {
    await api('set server app/blue weight 0');
    await api('set server app/green weight 0');
    const m = await measureSplit(haproxy.url, 20);
    expect(m.counts.blue ?? 0).toBe(0); // what the refused reading stands for: nobody is served
    const err = await run(acts.readTrafficSplit, { lb: 'edge', old: 'blue', new: 'green' }).catch((e) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.message).toMatch(
      /load balancer "edge" reads back no server taking traffic: blue weight 0 ready, green weight 0 ready \(a full outage/,
    );
    // The rollback's own activity puts the old server back: it states the whole wanted split.
    await run(acts.setTrafficSplit, { lb: 'edge', old: 'blue', new: 'green', newPercent: 0 });
    expect((await measureSplit(haproxy.url, 100)).counts.blue).toBe(100);
  });

  test('the old server in maint under a rollback: the read-back refuses it, and setting the split makes it ready again', async () => {
    await run(acts.setTrafficSplit, { lb: 'edge', old: 'blue', new: 'green', newPercent: 30 });
    await api('set server app/blue state maint');
    const read = await run(acts.readTrafficSplit, { lb: 'edge', old: 'blue', new: 'green' });
    expect(read).toMatchObject({
      newPercent: 100,
      weights: { blue: 70, green: 30 },
      states: { blue: 'maint', green: 'ready' },
    });
    const reading = await run(acts.setTrafficSplit, { lb: 'edge', old: 'blue', new: 'green', newPercent: 0 });
    expect(reading).toMatchObject({ newPercent: 0, weights: { blue: 100, green: 0 }, states: { blue: 'ready' } });
    expect(await adminState('blue')).toBe(0);
    const m = await measureSplit(haproxy.url, 100);
    expect(m.errors).toBe(0);
    expect(m.counts.blue).toBe(100);
  });

  test('a deliberately broken adapter (its rollback zeroes both, or leaves the old server drained) is refused by the read-back', async () => {
    const real = haproxyAdapter('edge', edgeCfg);
    const zeroesBoth = {
      ...real,
      setSplit: async () =>
        void (await api('set server app/blue weight 0'), await api('set server app/green weight 0')),
    };
    const err = await applySplit('edge', zeroesBoth, { old: 'blue', new: 'green', newPercent: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.nonRetryable).toBe(false); // setting the split again is what fixes it: the rollback retries
    expect(err.message).toMatch(/no server taking traffic: blue weight 0 ready, green weight 0 ready/);

    const drainsOld = {
      ...real,
      setSplit: async () => {
        await real.setSplit({ old: 'blue', new: 'green', newPercent: 0 });
        await api('set server app/blue state drain');
        await api('set server app/green weight 1'); // something still serves: the share alone would look "fine"
      },
    };
    const err2 = await applySplit('edge', drainsOld, { old: 'blue', new: 'green', newPercent: 0 }).catch((e) => e);
    expect(err2.message).toMatch(
      /load balancer "edge" reads back blue is drain \(wanted ready, to take 100 %\), green weight 1 \(wanted 0\)/,
    );
    await run(acts.setTrafficSplit, { lb: 'edge', old: 'blue', new: 'green', newPercent: 0 });
  });

  test('server state drain, maint, ready: set and read back', async () => {
    for (const state of ['drain', 'maint', 'ready'] as const) {
      expect(await run(acts.setLoadBalancerServerState, { lb: 'edge', server: 'green', state })).toBe(state);
      const admin = await adminState('green');
      expect(state === 'ready' ? admin === 0 : state === 'drain' ? (admin & 0x18) !== 0 : (admin & 0x01) !== 0).toBe(
        true,
      );
    }
  });

  test('an unknown server or backend is non-retryable and named; the weights stay as they were', async () => {
    await run(acts.setTrafficSplit, { lb: 'edge', old: 'blue', new: 'green', newPercent: 10 });
    const err = await run(acts.setTrafficSplit, { lb: 'edge', old: 'blue', new: 'purple', newPercent: 50 }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/server "purple" in HAProxy backend "app"/);
    const b = await run(acts.readTrafficSplit, { lb: 'wrong-backend', old: 'blue', new: 'green' }).catch((e) => e);
    expect(b.nonRetryable).toBe(true);
    expect(b.message).toMatch(/HAProxy backend "nope"/);
    const lb = await run(acts.setTrafficSplit, { lb: 'nowhere', old: 'blue', new: 'green', newPercent: 10 }).catch(
      (e) => e,
    );
    expect(lb.nonRetryable).toBe(true);
    expect(lb.message).toMatch(/unknown load balancer "nowhere"/);
    expect(await run(acts.readTrafficSplit, { lb: 'edge', old: 'blue', new: 'green' })).toMatchObject({
      weights: { blue: 90, green: 10 },
    });
  });
});

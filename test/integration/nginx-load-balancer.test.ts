import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ProcessGroup } from '../helpers/processes';
import { measureSplit, startBackend } from '../helpers/haproxy';
import { Nginx, NGINX_BIN, settledSplit } from '../helpers/nginx';
import { waitFor } from '../helpers/ports';
import { parseConfigText } from '../../src/config/load';
import { loadBalancerActivities, lookupLoadBalancer } from '../../src/activities/systems/load-balancer';
import type { OpsflowConfig } from '../../src/config/schema';

/**
 * The nginx adapter against a real nginx: the upstream include rewritten atomically, `nginx -t`,
 * reload, the split measured through nginx; a rejected config restores the previous file.
 */
describe('nginx load-balancer adapter (real nginx)', () => {
  const processes = new ProcessGroup();
  let nginx: Nginx;
  let acts: ReturnType<typeof loadBalancerActivities>;
  let servers: Record<string, string>;
  let config: OpsflowConfig;
  const env = new MockActivityEnvironment();
  const run = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A) => env.run(fn, ...args) as Promise<R>;

  beforeAll(async () => {
    const blue = await startBackend(processes, 'blue');
    const green = await startBackend(processes, 'green');
    servers = { blue: `127.0.0.1:${blue.port}`, green: `127.0.0.1:${green.port}` };
    nginx = await new Nginx(
      processes,
      `server ${servers.blue} weight=100;\nserver ${servers.green} weight=1 down;\n`,
    ).start();
    const green99999 = { ...servers, green: '127.0.0.1:99999' };
    config = parseConfigText(
      JSON.stringify({ loadBalancers: { web: nginx.lbConfig(servers), broken: nginx.lbConfig(green99999) } }),
      'test.json',
    );
    acts = loadBalancerActivities(config);
  });
  afterAll(async () => {
    await nginx?.stop();
    await processes.stopAll();
  });

  const settled = (percent: number, tolerance: number) => settledSplit(nginx.url, 'blue', 'green', percent, tolerance);

  test('10 %, 30 %, 100 %: the include is rewritten, read back, and nginx serves the split', async () => {
    for (const [percent, tolerance] of [
      [10, 4],
      [30, 5],
      [100, 0],
    ] as const) {
      const reading = await run(acts.setTrafficSplit, { lb: 'web', old: 'blue', new: 'green', newPercent: percent });
      expect(reading).toMatchObject({ newPercent: percent, weights: { blue: 100 - percent, green: percent } });
      expect(reading.states).toEqual({ blue: percent === 100 ? 'drain' : 'ready', green: 'ready' });
      const m = await settled(percent, tolerance);
      expect(m.errors).toBe(0);
      expect(Math.abs(m.percent('green') - percent)).toBeLessThanOrEqual(tolerance);
      // The old side answers the rest, and nothing else answers (no 502 from an empty upstream).
      expect(Math.abs(m.percent('blue') - (100 - percent))).toBeLessThanOrEqual(tolerance);
      expect((m.counts.blue ?? 0) + (m.counts.green ?? 0)).toBe(1000);
    }
    // 100 %: the old server is `down` (nginx has no weight 0)
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toMatch(
      new RegExp(`server ${servers.blue} weight=1 down; # blue`),
    );
  });

  test('rollback to 0 % and server states (drain is `down` in nginx OSS)', async () => {
    const reading = await run(acts.setTrafficSplit, { lb: 'web', old: 'blue', new: 'green', newPercent: 0 });
    expect(reading).toMatchObject({
      newPercent: 0,
      weights: { blue: 100, green: 0 },
      states: { blue: 'ready', green: 'drain' },
    });
    const file = readFileSync(nginx.upstreamFile, 'utf8');
    expect(file).toMatch(new RegExp(`server ${servers.blue} weight=100; # blue`)); // old: up, full weight
    expect(file).toMatch(new RegExp(`server ${servers.green} weight=1 down; # green`));
    const m = await settled(0, 0);
    expect(m.errors).toBe(0);
    expect(m.counts.green ?? 0).toBe(0);
    expect(m.counts.blue).toBe(1000);
    expect(await run(acts.setLoadBalancerServerState, { lb: 'web', server: 'green', state: 'drain' })).toBe('drain');
    expect(await run(acts.setLoadBalancerServerState, { lb: 'web', server: 'green', state: 'ready' })).toBe('ready');
  });

  test('both members down, written by hand and reloaded: nginx serves nothing, and the read-back refuses it instead of reading "0 % new"', async () => {
    writeFileSync(
      nginx.upstreamFile,
      `server ${servers.blue} weight=100 down; # blue\nserver ${servers.green} weight=1 down; # green\n`,
    );
    execFileSync(NGINX_BIN, ['-p', nginx.prefix, '-c', nginx.configFile, '-e', nginx.errorLog, '-s', 'reload']);
    await waitFor(
      'nginx serving nobody',
      async () => ((await measureSplit(nginx.url, 10)).counts.blue ?? 0) === 0 || undefined,
      30_000,
      200,
    );
    const err = await run(acts.readTrafficSplit, { lb: 'web', old: 'blue', new: 'green' }).catch((e: any) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(
      /load balancer "web" reads back no server taking traffic: blue weight 0 drain, green weight 0 drain \(a full outage/,
    );
    // The rollback's activity states the whole wanted split: the old member comes back up.
    await run(acts.setTrafficSplit, { lb: 'web', old: 'blue', new: 'green', newPercent: 0 });
    const m = await settled(0, 0);
    expect(m.errors).toBe(0);
    expect(m.counts.blue).toBe(1000);
  });

  test('planning asks nginx: the servers and `nginx -t` of the config as it is', async () => {
    const web = lookupLoadBalancer(config, 'web');
    await expect(web.checkServers(['blue', 'green'])).resolves.toBeUndefined();
    await expect(web.checkServers(['blue', 'purple'])).rejects.toThrow(/load balancer "web" has no server "purple"/);
    const before = readFileSync(nginx.upstreamFile, 'utf8');
    writeFileSync(nginx.upstreamFile, 'server 127.0.0.1:99999;\n'); // what nginx -t refuses
    try {
      const err = await web.checkServers(['blue', 'green']).catch((e: any) => e);
      expect(err.nonRetryable).toBe(true);
      expect(err.message).toMatch(/nginx web: "nginx -t" fails before any change/);
    } finally {
      writeFileSync(nginx.upstreamFile, before);
    }
  });

  test('a config nginx -t rejects is not applied: the previous include is restored and nginx keeps serving', async () => {
    await run(acts.setTrafficSplit, { lb: 'web', old: 'blue', new: 'green', newPercent: 30 });
    const before = readFileSync(nginx.upstreamFile, 'utf8');
    const err = await run(acts.setTrafficSplit, { lb: 'broken', old: 'blue', new: 'green', newPercent: 50 }).catch(
      (e: any) => e,
    );
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/nginx -t" rejected the new upstream, previous file restored/);
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toBe(before);
    const m = await settled(30, 5);
    expect(m.errors).toBe(0);
  });

  test('an unknown server is non-retryable and named; nothing is written', async () => {
    const before = readFileSync(nginx.upstreamFile, 'utf8');
    const err = await run(acts.setTrafficSplit, { lb: 'web', old: 'blue', new: 'purple', newPercent: 50 }).catch(
      (e: any) => e,
    );
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/load balancer "web" has no server "purple"/);
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toBe(before);
  });
});

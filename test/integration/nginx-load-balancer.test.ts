import { readFileSync } from 'node:fs';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ProcessGroup } from '../helpers/processes';
import { measureSplit, startBackend } from '../helpers/haproxy';
import { Nginx } from '../helpers/nginx';
import { waitFor } from '../helpers/ports';
import { parseConfigText } from '../../src/config/load';
import { loadBalancerActivities } from '../../src/activities/load-balancer';

/**
 * The nginx adapter against a real nginx: the upstream include rewritten atomically, `nginx -t`,
 * reload, the split measured through nginx; a rejected config restores the previous file.
 */
describe('nginx load-balancer adapter (real nginx)', () => {
  const processes = new ProcessGroup();
  let nginx: Nginx;
  let acts: ReturnType<typeof loadBalancerActivities>;
  let servers: Record<string, string>;
  const env = new MockActivityEnvironment();
  const run = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A) => env.run(fn, ...args) as Promise<R>;

  beforeAll(async () => {
    const blue = await startBackend(processes, 'blue');
    const green = await startBackend(processes, 'green');
    servers = { blue: `127.0.0.1:${blue.port}`, green: `127.0.0.1:${green.port}` };
    nginx = await new Nginx(processes, `server ${servers.blue} weight=100;\nserver ${servers.green} weight=1 down;\n`).start();
    const green99999 = { ...servers, green: '127.0.0.1:99999' };
    const config = parseConfigText(
      JSON.stringify({ loadBalancers: { web: nginx.lbConfig(servers), broken: nginx.lbConfig(green99999) } }),
      'test.json',
    );
    acts = loadBalancerActivities(config);
  });
  afterAll(async () => {
    await nginx?.stop();
    await processes.stopAll();
  });

  /** A reload is graceful: old workers may answer a few more requests, so wait for the new split. */
  async function settledSplit(percent: number, tolerance: number) {
    await waitFor(`nginx serving ${percent} % green`, async () => {
      const m = await measureSplit(nginx.url, 100);
      return Math.abs(m.percent('green') - percent) <= tolerance ? true : undefined;
    }, 30_000, 200);
    return measureSplit(nginx.url, 1000);
  }

  test('10 %, 30 %, 100 %: the include is rewritten, read back, and nginx serves the split', async () => {
    for (const [percent, tolerance] of [[10, 4], [30, 5], [100, 0]] as const) {
      const reading = await run(acts.setTrafficSplit, { lb: 'web', old: 'blue', new: 'green', newPercent: percent });
      expect(reading).toMatchObject({ newPercent: percent, weights: { blue: 100 - percent, green: percent } });
      const m = await settledSplit(percent, tolerance);
      expect(m.errors).toBe(0);
      expect(Math.abs(m.percent('green') - percent)).toBeLessThanOrEqual(tolerance);
    }
    // 100 %: the old server is `down` (nginx has no weight 0)
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toMatch(new RegExp(`server ${servers.blue} weight=1 down; # blue`));
  });

  test('rollback to 0 % and server states (drain is `down` in nginx OSS)', async () => {
    await run(acts.setTrafficSplit, { lb: 'web', old: 'blue', new: 'green', newPercent: 0 });
    const m = await settledSplit(0, 0);
    expect(m.counts.green ?? 0).toBe(0);
    expect(await run(acts.setLoadBalancerServerState, { lb: 'web', server: 'green', state: 'drain' })).toBe('drain');
    expect(await run(acts.setLoadBalancerServerState, { lb: 'web', server: 'green', state: 'ready' })).toBe('ready');
  });

  test('a config nginx -t rejects is not applied: the previous include is restored and nginx keeps serving', async () => {
    await run(acts.setTrafficSplit, { lb: 'web', old: 'blue', new: 'green', newPercent: 30 });
    const before = readFileSync(nginx.upstreamFile, 'utf8');
    const err = await run(acts.setTrafficSplit, { lb: 'broken', old: 'blue', new: 'green', newPercent: 50 }).catch((e: any) => e);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/nginx -t" rejected the new upstream, previous file restored/);
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toBe(before);
    const m = await settledSplit(30, 5);
    expect(m.errors).toBe(0);
  });

  test('an unknown server is non-retryable and named; nothing is written', async () => {
    const before = readFileSync(nginx.upstreamFile, 'utf8');
    const err = await run(acts.setTrafficSplit, { lb: 'web', old: 'blue', new: 'purple', newPercent: 50 }).catch((e: any) => e);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/load balancer "web" has no server "purple"/);
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toBe(before);
  });
});

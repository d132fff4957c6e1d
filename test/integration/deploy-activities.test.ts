import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { parseConfigText } from '../../src/config/load';
import { deployActivities } from '../../src/activities/deploy';
import { releaseName } from '../../src/domain/deploy/release';
import { runActivity } from '../helpers/activity';
import { makeAppRepo, type AppRepo } from '../helpers/deploy-fixture';
import { SystemdStandin } from '../helpers/systemd-standin';
import { Sshd } from '../helpers/sshd';
import { Haproxy } from '../helpers/haproxy';
import { ProcessGroup } from '../helpers/processes';
import { freePort, waitFor } from '../helpers/ports';
import { serverSessions } from '../../src/activities/deploy/lb';
import type { HaproxyLoadBalancerConfig } from '../../src/config/sections/load-balancers';

/**
 * The deploy steps against real parts: a bare git repository made here, release trees on disk,
 * app processes started and stopped by the stand-in systemctl (one host reached over a real sshd),
 * and a real HAProxy in front for drains.
 */
describe('deploy activities', () => {
  jest.setTimeout(120_000);
  const processes = new ProcessGroup();
  const systemd = new SystemdStandin();
  const sshd = new Sshd(systemd.binDir);
  const root = mkdtempSync(join(tmpdir(), 'opsflow-deploy-hosts-'));
  let repo: AppRepo;
  let haproxy: Haproxy;
  let ports: Record<'h1' | 'h2', number>;
  let acts: ReturnType<typeof deployActivities>;
  const path = (h: string) => join(root, h);
  const started = new Date('2026-11-24T03:00:00Z');

  beforeAll(async () => {
    repo = makeAppRepo();
    ports = { h1: await freePort(), h2: await freePort() };
    await sshd.start();
    haproxy = await new Haproxy(processes, [
      { name: 'h1', port: ports.h1, weight: 100 },
      { name: 'h2', port: ports.h2, weight: 100 },
    ]).start();
    for (const h of ['h1', 'h2'] as const)
      systemd.defineUnit(`web-${h}`, [process.execPath, join(path(h), 'current', 'server.js')], {
        PORT: String(ports[h]),
        NAME: h,
      });
    const config = parseConfigText(
      JSON.stringify({
        systemd: {
          systemctl: systemd.systemctlPath,
          hosts: {
            app2: {
              host: '127.0.0.1',
              port: sshd.port,
              username: sshd.username,
              privateKey: { file: sshd.clientKey },
              hostKeySha256: sshd.hostKeySha256,
            },
          },
        },
        loadBalancers: { edge: { type: 'haproxy', runtimeApi: { socket: haproxy.socket }, backend: 'app' } },
        deploy: {
          cacheDir: join(root, 'cache'),
          services: {
            web: {
              repository: repo.bare,
              path: path('h1'),
              lb: 'edge',
              commands: { install: { argv: ['sh', '-c', 'echo "$PWD" > INSTALLED'], timeout: '30s' } },
              hosts: {
                h1: { lbServer: 'h1', healthUrl: `http://127.0.0.1:${ports.h1}/health`, units: ['web-h1'] },
                h2: {
                  transport: { ssh: 'app2' },
                  path: path('h2'),
                  lbServer: 'h2',
                  healthUrl: `http://127.0.0.1:${ports.h2}/health`,
                  units: ['web-h2'],
                },
              },
            },
            kept: {
              repository: repo.bare,
              path: path('k1'),
              hosts: { k1: { healthUrl: `http://127.0.0.1:${ports.h1}/health` } },
            },
            broken: {
              repository: repo.bare,
              path: path('b1'),
              commands: { install: { argv: ['sh', '-c', 'echo no disk >&2; exit 7'] } },
              hosts: { b1: { healthUrl: `http://127.0.0.1:${ports.h1}/health` } },
            },
          },
        },
      }),
      'test.json',
    );
    acts = deployActivities(config);
  });

  afterAll(async () => {
    systemd.stopAll();
    await sshd.stop();
    await haproxy?.stop();
    await processes.stopAll();
  });

  const version = async (port: number) => {
    const res = await request(`http://127.0.0.1:${port}/`);
    return ((await res.body.json()) as { version: string }).version;
  };

  test('a branch, a tag and a commit id resolve to the commit; a ref that does not is refused naming ref, not retried', async () => {
    expect(await runActivity(acts.resolveDeployRef, { service: 'web', ref: 'main' })).toEqual({
      commit: repo.commits.v2,
    });
    expect(await runActivity(acts.resolveDeployRef, { service: 'web', ref: 'v1' })).toEqual({
      commit: repo.commits.v1,
    });
    expect(await runActivity(acts.resolveDeployRef, { service: 'web', ref: repo.commits.bad })).toEqual({
      commit: repo.commits.bad,
    });
    const err = await runActivity(acts.resolveDeployRef, { service: 'web', ref: 'nope' }).catch((e) => e);
    expect(err).toMatchObject({ type: 'RefNotFound', nonRetryable: true });
    expect(err.message).toMatch(/^ref: ref "nope" does not resolve to a commit/);
  });

  for (const host of ['h1', 'h2'] as const) {
    test(`${host === 'h1' ? 'locally' : 'over SSH'}: build, switch, restart, health check, mark complete; the app serves the release`, async () => {
      const name = releaseName(started, repo.commits.v1);
      const built = await runActivity(acts.buildHostRelease, {
        service: 'web',
        host,
        release: name,
        commit: repo.commits.v1,
      });
      expect(built).toEqual({ release: name, built: true });
      const dir = join(path(host), 'releases', name);
      // install ran in the tree while it was still being built, then the tree was renamed whole
      expect(readFileSync(join(dir, 'INSTALLED'), 'utf8').trim()).toBe(
        join(path(host), 'releases', `.building-${name}`),
      );
      expect(readFileSync(join(dir, 'VERSION'), 'utf8').trim()).toBe('v1');
      // again: nothing rebuilt
      expect(
        await runActivity(acts.buildHostRelease, { service: 'web', host, release: name, commit: repo.commits.v1 }),
      ).toEqual({ release: name, built: false });
      expect(await runActivity(acts.switchHostCurrent, { service: 'web', host, release: name })).toEqual({
        previous: undefined,
      });
      expect(readlinkSync(join(path(host), 'current'))).toBe(`releases/${name}`);
      await runActivity(acts.restartHostUnits, { service: 'web', host });
      expect(
        await runActivity(acts.checkHostHealth, { service: 'web', host, attempts: 20, intervalMs: 250 }),
      ).toMatchObject({ healthy: true });
      expect(await version(ports[host])).toBe('v1');
      expect((await runActivity(acts.readHostReleases, { service: 'web', host })).releases).toEqual([
        { name, state: 'incomplete' },
      ]);
      await runActivity(acts.markHostRelease, { service: 'web', host, release: name, state: 'complete' });
      expect(await runActivity(acts.readHostReleases, { service: 'web', host })).toEqual({
        current: name,
        releases: [{ name, state: 'complete' }],
      });
    });
  }

  test('a build killed halfway leaves a tree no rule counts; the next build replaces it', async () => {
    const name = releaseName(new Date('2026-11-24T03:05:00Z'), repo.commits.v2);
    const half = join(path('h1'), 'releases', `.building-${name}`);
    mkdirSync(half, { recursive: true });
    writeFileSync(join(half, 'VERSION'), 'half\n');
    expect(
      (await runActivity(acts.readHostReleases, { service: 'web', host: 'h1' })).releases.map((r) => r.name),
    ).not.toContain(name);
    expect(
      await runActivity(acts.buildHostRelease, { service: 'web', host: 'h1', release: name, commit: repo.commits.v2 }),
    ).toMatchObject({ built: true });
    expect(readFileSync(join(path('h1'), 'releases', name, 'VERSION'), 'utf8').trim()).toBe('v2');
    expect(existsSync(half)).toBe(false);
  });

  test('the switch is one rename: current is always the old or the new release, and a switch back returns the previous', async () => {
    const v1 = releaseName(started, repo.commits.v1);
    const v2 = releaseName(new Date('2026-11-24T03:05:00Z'), repo.commits.v2);
    const seen = new Set<string>();
    let stop = false;
    const watcher = (async () => {
      while (!stop) {
        try {
          seen.add(readlinkSync(join(path('h1'), 'current')));
        } catch (e) {
          seen.add(`error ${(e as Error).message}`);
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 0; i < 5; i++) {
      expect(await runActivity(acts.switchHostCurrent, { service: 'web', host: 'h1', release: v2 })).toEqual({
        previous: v1,
      });
      expect(await runActivity(acts.switchHostCurrent, { service: 'web', host: 'h1', release: v1 })).toEqual({
        previous: v2,
      });
    }
    stop = true;
    await watcher;
    expect([...seen].sort()).toEqual([`releases/${v1}`, `releases/${v2}`]);
    expect(readdirSync(path('h1')).filter((f) => f.startsWith('current.tmp'))).toEqual([]);
  });

  test('an install that fails is not retried and publishes nothing', async () => {
    const name = releaseName(started, repo.commits.v1);
    const err = await runActivity(acts.buildHostRelease, {
      service: 'broken',
      host: 'b1',
      release: name,
      commit: repo.commits.v1,
    }).catch((e) => e);
    expect(err).toMatchObject({ type: 'DeployCommandFailed', nonRetryable: true });
    expect(err.message).toMatch(/broken\/b1: install \(sh -c .*\) exited 7: no disk/);
    expect(existsSync(join(path('b1'), 'releases', name))).toBe(false);
    expect((await runActivity(acts.readHostReleases, { service: 'broken', host: 'b1' })).releases).toEqual([]);
  });

  test('a bad commit fails its health check after the attempts; it is marked failed and never a rollback target', async () => {
    const bad = releaseName(new Date('2026-11-24T03:10:00Z'), repo.commits.bad);
    await runActivity(acts.buildHostRelease, { service: 'web', host: 'h2', release: bad, commit: repo.commits.bad });
    await runActivity(acts.switchHostCurrent, { service: 'web', host: 'h2', release: bad });
    await runActivity(acts.restartHostUnits, { service: 'web', host: 'h2' });
    const t0 = Date.now();
    // Three failures of five attempts: the two left can no longer give three passes in a row.
    expect(
      await runActivity(acts.checkHostHealth, { service: 'web', host: 'h2', attempts: 5, intervalMs: 300 }),
    ).toEqual({
      healthy: false,
      attempts: 3,
      last: 'HTTP 500',
      passes: 0,
      flapping: false,
      reason: 'health check failed after 3 attempts (HTTP 500)',
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
    await runActivity(acts.markHostRelease, { service: 'web', host: 'h2', release: bad, state: 'failed' });
    const v1 = releaseName(started, repo.commits.v1);
    expect(await runActivity(acts.hostRollbackTarget, { service: 'web', host: 'h2' })).toEqual({
      release: v1,
      current: bad,
    });
    expect(await runActivity(acts.hostRollbackTarget, { service: 'web', host: 'h2', release: bad })).toMatchObject({
      reason: `release ${bad} is failed, not complete`,
    });
    await runActivity(acts.switchHostCurrent, { service: 'web', host: 'h2', release: v1 });
    await runActivity(acts.restartHostUnits, { service: 'web', host: 'h2' });
    expect(
      await runActivity(acts.checkHostHealth, { service: 'web', host: 'h2', attempts: 20, intervalMs: 250 }),
    ).toMatchObject({ healthy: true });
    expect(await version(ports.h2)).toBe('v1');
  });

  test('drain on the real HAProxy: confirmed at 0 sessions; a held connection keeps it unconfirmed until the timeout; ready again', async () => {
    await runActivity(acts.restartHostUnits, { service: 'web', host: 'h1' });
    await runActivity(acts.checkHostHealth, { service: 'web', host: 'h1', attempts: 20, intervalMs: 250 });
    // a slow request through HAProxy pinned to h1 (h2 in maint), then h2 back
    const { runtimeApiCommand } = await import('../../src/activities/systems/load-balancer/haproxy-runtime-api');
    await runtimeApiCommand({ socket: haproxy.socket }, 'set server app/h2 state maint', 5_000);
    // Held 6 s: past the session wait, the drain and the 1 s confirmation below on a loaded machine.
    const slow = request(`${haproxy.url}/slow?ms=6000`).then((r) => r.body.text());
    // h2 comes back once HAProxy holds the slow request's session on h1 (however slow the machine).
    const lb = {
      type: 'haproxy',
      runtimeApi: { socket: haproxy.socket },
      backend: 'app',
      timeoutMs: 5_000,
    } as HaproxyLoadBalancerConfig;
    await waitFor('the slow request held on h1', async () => (await serverSessions(lb, 'h1')) > 0, 30_000, 50);
    await runtimeApiCommand({ socket: haproxy.socket }, 'set server app/h2 state ready', 5_000);
    expect(await runActivity(acts.drainHost, { service: 'web', host: 'h1' })).toEqual({ server: 'h1' });
    const t0 = Date.now();
    expect(await runActivity(acts.confirmHostDrained, { service: 'web', host: 'h1', timeoutMs: 1_000 })).toEqual({
      drained: false,
      sessions: 1,
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
    expect(JSON.parse(await slow)).toMatchObject({ name: 'h1' }); // the drain cut nothing
    expect(await runActivity(acts.confirmHostDrained, { service: 'web', host: 'h1', timeoutMs: 5_000 })).toEqual({
      drained: true,
      sessions: 0,
    });
    // drained: new requests go to h2 only
    for (let i = 0; i < 6; i++) expect(JSON.parse(await (await request(haproxy.url)).body.text()).name).toBe('h2');
    await runActivity(acts.readyHost, { service: 'web', host: 'h1' });
    const names = new Set<string>();
    for (let i = 0; i < 6; i++) names.add(JSON.parse(await (await request(haproxy.url)).body.text()).name);
    expect([...names].sort()).toEqual(['h1', 'h2']);
  });

  test('prune keeps keepReleases complete ones, current and its predecessor, and a failed one never counts', async () => {
    // h2 has v1 (complete, current) and bad (failed); add three more complete releases of v2
    const extra = [20, 21, 22].map((m) => releaseName(new Date(`2026-11-24T03:${m}:00Z`), repo.commits.v2));
    for (const name of extra) {
      await runActivity(acts.buildHostRelease, { service: 'web', host: 'h2', release: name, commit: repo.commits.v2 });
      await runActivity(acts.markHostRelease, { service: 'web', host: 'h2', release: name, state: 'complete' });
    }
    await runActivity(acts.switchHostCurrent, { service: 'web', host: 'h2', release: extra[2] });
    writeFileSync(join(path('h2'), 'releases', '.building-stale'), '');
    const { removed } = await runActivity(acts.pruneHostReleases, { service: 'web', host: 'h2', keep: 2, protect: [] });
    const v1 = releaseName(started, repo.commits.v1);
    const bad = releaseName(new Date('2026-11-24T03:10:00Z'), repo.commits.bad);
    expect(removed).toEqual([v1, bad, extra[0]]);
    expect(readdirSync(join(path('h2'), 'releases')).sort()).toEqual([extra[1], extra[2]]);
  });

  test('prune with keep 3 and five complete releases on disk keeps the newest three (not only current and its predecessor); a failed one goes first, an unmarked newer one stays', async () => {
    const dir = join(path('k1'), 'releases');
    const names = [1, 2, 3, 4, 5, 6, 7].map((m) => releaseName(new Date(`2026-11-24T04:0${m}:00Z`), repo.commits.v2));
    const [c1, c2, failed, c3, c4, unmarked, c5] = names;
    for (const n of names) mkdirSync(join(dir, n), { recursive: true });
    for (const n of [c1, c2, c3, c4, c5]) writeFileSync(join(dir, n, '.opsflow-complete'), '');
    writeFileSync(join(dir, failed, '.opsflow-failed'), '');
    (await import('node:fs')).symlinkSync(`releases/${c5}`, join(path('k1'), 'current'));
    const { removed } = await runActivity(acts.pruneHostReleases, {
      service: 'kept',
      host: 'k1',
      keep: 3,
      protect: [],
    });
    expect(removed).toEqual([c1, c2, failed]);
    expect(readdirSync(dir).sort()).toEqual([c3, c4, unmarked, c5]);
  });
});

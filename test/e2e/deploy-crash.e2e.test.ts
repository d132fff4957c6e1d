import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { Stack, writeConfig, killWorker } from '../helpers/stack';
import { waitFor, freePort } from '../helpers/ports';
import { SystemdStandin } from '../helpers/systemd-standin';
import { Haproxy } from '../helpers/haproxy';
import { recordHistory } from '../helpers/histories';
import { makeAppRepo, type AppRepo } from '../helpers/deploy-fixture';
import { startTraffic } from '../helpers/traffic';
import { runtimeApiCommand } from '../../src/activities/systems/load-balancer/haproxy-runtime-api';
import type { DeployStatus } from '../../src/workflows/deploy/status';
import { statusQuery } from '../../src/workflows/deploy/messages';

const HOSTS = ['h1', 'h2', 'h3'] as const;
type Host = (typeof HOSTS)[number];

/**
 * The worker process is SIGKILLed while h1's release is being built (a half tree on disk) and
 * while h2 is drained and switching (its app slow to start): new workers finish the deploy with
 * one release directory per host, migrations once, and no host left drained; a third kill between
 * hosts, with the Temporal server killed -9 and restarted on its SQLite file, changes nothing either.
 * Then, on top of that release, a second one (v1) and its rollback: the worker killed while h2 is
 * drained on the way back, and the server killed -9 while no worker runs; every host is back on the
 * first release, switched once, with HAProxy answering throughout. (The rollback needs the first
 * test's release as its target: the two run in order.)
 */
describe('deploy survives worker SIGKILL mid-saga (dev server, real HAProxy)', () => {
  jest.setTimeout(300_000);
  let stack: Stack;
  let haproxy: Haproxy;
  let repo: AppRepo;
  let configPath: string;
  const systemd = new SystemdStandin();
  const root = mkdtempSync(join(tmpdir(), 'opsflow-deploy-crash-'));
  const path = (h: Host) => join(root, h);
  const ports = {} as Record<Host, number>;

  beforeAll(async () => {
    stack = await Stack.start({ persistent: true });
    repo = makeAppRepo();
    for (const h of HOSTS) ports[h] = await freePort();
    haproxy = await new Haproxy(
      stack.processes,
      HOSTS.map((h) => ({ name: h, port: ports[h], weight: 100 })),
    ).start();
    for (const h of HOSTS) {
      const app = join(path(h), 'current', 'server.js');
      // h2's app takes 4 s to start: the saga sits drained between switch and health for a while.
      const exec = h === 'h2' ? ['sh', '-c', `sleep 4; exec '${process.execPath}' '${app}'`] : [process.execPath, app];
      systemd.defineUnit(`web-${h}`, exec, { PORT: String(ports[h]), NAME: h });
    }
    configPath = writeConfig({
      systemd: { systemctl: systemd.systemctlPath },
      loadBalancers: { edge: { type: 'haproxy', runtimeApi: { socket: haproxy.socket }, backend: 'app' } },
      deploy: {
        cacheDir: join(root, 'worker-cache'),
        services: {
          web: {
            repository: repo.bare,
            path: path('h1'),
            lb: 'edge',
            commands: {
              // slow enough to be killed in the middle of
              install: { argv: ['sh', '-c', 'sleep 4; date +%s%N > INSTALLED'], timeout: '1m' },
              migrate: { argv: ['sh', '-c', `echo "$PWD" >> ${join(root, 'migrations.log')}`], timeout: '30s' },
            },
            hosts: Object.fromEntries(
              HOSTS.map((h) => [
                h,
                { path: path(h), lbServer: h, healthUrl: `http://127.0.0.1:${ports[h]}/health`, units: [`web-${h}`] },
              ]),
            ),
          },
        },
      },
    });
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
    systemd.stopAll();
    await haproxy?.stop();
  });

  const startWorker = () => stack.spawnWorkerProcess(configPath);
  const adminState = async (h: Host) => {
    const row = (await runtimeApiCommand({ socket: haproxy.socket }, 'show servers state app', 5000))
      .split('\n')
      .find((l) => l.split(' ')[3] === h)!;
    return Number(row.split(' ')[6]);
  };

  test('killed mid-build on h1, while h2 is drained, and between h2 and h3: finished by new workers, one release per host, migrations once, nothing drained', async () => {
    let worker = startWorker();
    const handle = await stack.client.workflow.start('deployWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'deploy-web',
      args: [{ service: 'web', ref: 'main', serial: 1, healthCheck: { attempts: 60, interval: '250ms' } }],
    });
    const status = () => handle.query(statusQuery);

    await waitFor('h1 building', async () => (await status()).hosts.h1.state === 'building', 120_000, 100);
    const release = (await status()).release!;
    // Killed once the build directory is there, inside the 4 s install that follows the clone.
    await waitFor(
      'h1 build directory',
      () => existsSync(join(path('h1'), 'releases', `.building-${release}`)),
      60_000,
      50,
    );
    await killWorker(worker.child);
    expect(existsSync(join(path('h1'), 'releases', `.building-${release}`))).toBe(true);
    expect(existsSync(join(path('h1'), 'releases', release))).toBe(false);

    worker = startWorker();
    await waitFor('h2 switching', async () => (await status()).hosts.h2.state === 'switching', 180_000, 100);
    // drained when the worker dies (its app then takes 4 s to start)
    await waitFor('h2 drained in HAProxy', async () => (await adminState('h2')) !== 0, 60_000, 50);
    await killWorker(worker.child);

    // and between hosts: h2 finished, h3 not yet started
    worker = startWorker();
    await waitFor('h2 done', async () => (await status()).hosts.h2.state === 'done', 180_000, 50);
    await killWorker(worker.child);
    expect(await adminState('h2')).toBe(0);
    await stack.restartServer();

    worker = startWorker();
    const result = (await handle.result()) as DeployStatus;
    expect(result.phase).toBe('done');
    for (const h of HOSTS) {
      expect(readdirSync(join(path(h), 'releases'))).toEqual([release]);
      expect(readlinkSync(join(path(h), 'current'))).toBe(`releases/${release}`);
      expect(existsSync(join(path(h), 'releases', release, '.opsflow-complete'))).toBe(true);
      expect(await adminState(h)).toBe(0);
      expect(
        ((await (await request(`http://127.0.0.1:${ports[h]}/`)).body.json()) as { version: string }).version,
      ).toBe('v2');
    }
    expect(readFileSync(join(root, 'migrations.log'), 'utf8').trim().split('\n')).toEqual([
      join(path('h1'), 'releases', release),
    ]);
    await killWorker(worker.child);
    recordHistory(stack.temporalAddress(), 'deploy-web', 'deploy-crash');
  });

  test('rollback killed while h2 is drained on its way back, the server killed -9 meanwhile: every host back on the previous release, switched once, HAProxy answering throughout', async () => {
    const current = (h: Host) => readlinkSync(join(path(h), 'current')).replace(/^releases\//, '');
    const first = current('h1');
    for (const h of HOSTS) expect(current(h)).toBe(first);
    let worker = startWorker();
    const opts = { service: 'web', serial: 1, healthCheck: { attempts: 60, interval: '250ms' } };
    const deployed = (await (
      await stack.client.workflow.start('deployWorkflow', {
        taskQueue: 'opsflow',
        workflowId: 'deploy-web',
        args: [{ ...opts, ref: 'v1' }],
      })
    ).result()) as DeployStatus;
    const second = deployed.release!;
    expect(deployed.phase).toBe('done');
    for (const h of HOSTS) expect(current(h)).toBe(second);

    const callsBefore = systemd.calls().length;
    const traffic = startTraffic(haproxy.url, 4);
    // waited for by count, not time: a loaded machine sends fewer requests in any given time
    await waitFor('traffic through HAProxy', () => traffic.stats.ok >= 20, 30_000);
    const handle = await stack.client.workflow.start('rollbackDeployWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'deploy-web',
      args: [opts],
    });
    // Held where h2's health check is scheduled: h1 is back, h2 switched and restarted (its app
    // takes 4 s to start) and still drained. The second health check scheduled is h2's (serial 1).
    await waitFor(
      "h2's health check on the way back",
      async () => {
        const { events } = await handle.fetchHistory();
        return (
          (events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'checkHostHealth')
            .length >= 2
        );
      },
      180_000,
      50,
    );
    await killWorker(worker.child);
    expect(current('h1')).toBe(first);
    expect(current('h2')).toBe(first);
    expect(current('h3')).toBe(second);
    expect(await adminState('h2')).not.toBe(0);
    await stack.restartServer();

    worker = startWorker();
    const result = (await handle.result()) as DeployStatus;
    const v2Before = traffic.stats.versions.v2 ?? 0;
    await waitFor(
      'traffic served by v2 after the rollback',
      () => (traffic.stats.versions.v2 ?? 0) >= v2Before + 20,
      30_000,
    );
    const stats = await traffic.stop();
    expect(stats.errors).toEqual([]);
    expect(stats.failed).toBe(0);
    expect(result).toMatchObject({ kind: 'rollback', phase: 'done' });
    // one restart per unit since the rollback began: each host switched back once, none twice or compensated
    const calls = systemd.calls().slice(callsBefore);
    for (const h of HOSTS) {
      expect(result.hosts[h]).toMatchObject({ state: 'done', release: first, previous: second });
      expect(current(h)).toBe(first);
      // a rollback builds and prunes nothing, and marks nothing failed
      expect(readdirSync(join(path(h), 'releases')).sort()).toEqual([first, second].sort());
      expect(existsSync(join(path(h), 'releases', second, '.opsflow-complete'))).toBe(true);
      expect(existsSync(join(path(h), 'releases', second, '.opsflow-failed'))).toBe(false);
      expect(await adminState(h)).toBe(0);
      expect(
        ((await (await request(`http://127.0.0.1:${ports[h]}/`)).body.json()) as { version: string }).version,
      ).toBe('v2');
      expect(calls.filter((c) => c === `restart -- web-${h}`)).toHaveLength(1);
    }
    await killWorker(worker.child);
    recordHistory(stack.temporalAddress(), 'deploy-web', 'rollback-deploy-crash');
  });
});

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
});

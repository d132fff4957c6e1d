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
import { approveSignal, pauseSignal, resumeSignal, statusQuery } from '../../src/workflows/deploy/messages';

const HOSTS = ['h1', 'h2', 'h3'] as const;
type Host = (typeof HOSTS)[number];

/**
 * The worker process is SIGKILLed while h1's release is being built (a half tree on disk) and
 * while h2 is drained and switching (its app slow to start): new workers finish the deploy with
 * one release directory per host, migrations once, and no host left drained; a third kill between
 * hosts, with the Temporal server killed -9 and restarted on its SQLite file, changes nothing either.
 * Then, on top of that release, a second one (v1) and its rollback: the worker killed while h2 is
 * drained on the way back, and the server killed -9 while no worker runs; every host is back on the
 * first release, switched once, with HAProxy answering throughout. Then two rollbacks to a named
 * release: one killed while it waits for its first-host approval and again while paused between h1
 * and h2 (the approve, the pause and the resume sent while no worker runs), one whose HAProxy
 * Runtime API refuses connections for a burst; and a deploy of h1 killed while its stuck drain waits
 * for a person. (Each test starts from the releases the one before left: they run in order.)
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

  const current = (h: Host) => readlinkSync(join(path(h), 'current')).replace(/^releases\//, '');
  // A fresh connection each time: a kept-alive one could reach a process the host's restart is replacing.
  const served = async (h: Host) =>
    ((await (await request(`http://127.0.0.1:${ports[h]}/`, { reset: true })).body.json()) as { version: string })
      .version;
  const restarts = (since: number, h: Host) =>
    systemd
      .calls()
      .slice(since)
      .filter((c) => c === `restart -- web-${h}`).length;
  /** The releases on h1, oldest first (the names start with their time): [first deploy's, v1's]. */
  const releases = () => readdirSync(join(path('h1'), 'releases')).sort();
  const rollbackOpts = { service: 'web', serial: 1, healthCheck: { attempts: 60, interval: '250ms' } };

  test('rollback killed while awaiting its first-host approval and again while paused between h1 and h2: each host switched once, the signals sent while no worker runs kept', async () => {
    const [first, second] = releases();
    for (const h of HOSTS) expect(current(h)).toBe(first);
    const callsBefore = systemd.calls().length;
    const traffic = startTraffic(haproxy.url, 4);
    await waitFor('traffic through HAProxy', () => traffic.stats.ok >= 20, 30_000);
    let worker = startWorker();
    const handle = await stack.client.workflow.start('rollbackDeployWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'deploy-web',
      args: [{ ...rollbackOpts, release: second, approval: 'first-host' }],
    });
    const status = () => handle.query(statusQuery);
    await waitFor('awaiting the first-host approval', async () => (await status()).awaitingApproval, 120_000, 100);
    // timer / wait: the run waits on a person, no activity in flight
    await killWorker(worker.child);
    for (const h of HOSTS) expect(current(h)).toBe(first);
    expect(systemd.calls().length).toBe(callsBefore);
    // Both sent while no worker runs: the approval lets batch 1 (h1) go, the pause holds batch 2.
    await handle.signal(approveSignal, { by: 'night-shift' });
    await handle.signal(pauseSignal, { by: 'night-shift', reason: 'look at h1 first' });

    worker = startWorker();
    await waitFor('paused after h1', async () => (await status()).phase === 'paused', 180_000, 100);
    // between steps: h1 back on the named release and ready, h2 and h3 not touched, nothing in flight
    const paused = await status();
    expect(paused.hosts.h1.state).toBe('done');
    expect(paused.hosts.h2.state).toBe('pending');
    expect((await handle.describe()).raw.pendingActivities ?? []).toEqual([]);
    await killWorker(worker.child);
    expect([current('h1'), current('h2'), current('h3')]).toEqual([second, first, first]);
    expect(await adminState('h1')).toBe(0);
    expect([restarts(callsBefore, 'h1'), restarts(callsBefore, 'h2'), restarts(callsBefore, 'h3')]).toEqual([1, 0, 0]);
    await handle.signal(resumeSignal, { by: 'night-shift' });

    worker = startWorker();
    const result = (await handle.result()) as DeployStatus;
    const v1Before = traffic.stats.versions.v1 ?? 0;
    await waitFor('traffic served by v1', () => (traffic.stats.versions.v1 ?? 0) >= v1Before + 20, 30_000);
    const stats = await traffic.stop();
    expect(stats.errors).toEqual([]);
    expect(stats.failed).toBe(0);
    expect(result).toMatchObject({ kind: 'rollback', phase: 'done' });
    for (const h of HOSTS) {
      expect(result.hosts[h]).toMatchObject({ state: 'done', release: second, previous: first });
      expect(current(h)).toBe(second);
      expect(await adminState(h)).toBe(0);
      expect(await served(h)).toBe('v1');
      expect(restarts(callsBefore, h)).toBe(1);
    }
    await killWorker(worker.child);
    recordHistory(stack.temporalAddress(), 'deploy-web', 'rollback-deploy-approval-paused-worker-killed');
  });

  test("rollback while HAProxy's Runtime API refuses connections for a burst: the drain retried, every host back once, HAProxy answering throughout", async () => {
    const [first, second] = releases();
    for (const h of HOSTS) expect(current(h)).toBe(second);
    const callsBefore = systemd.calls().length;
    const traffic = startTraffic(haproxy.url, 4);
    await waitFor('traffic through HAProxy', () => traffic.stats.ok >= 20, 30_000);
    const restore = haproxy.refuseRuntimeApi();
    const worker = startWorker();
    let handle;
    try {
      handle = await stack.client.workflow.start('rollbackDeployWorkflow', {
        taskQueue: 'opsflow',
        workflowId: 'deploy-web',
        args: [{ ...rollbackOpts, release: first }],
      });
      const h = handle;
      // h1's drain, the rollback's first LB call, has failed on the refusing socket at least twice.
      await waitFor(
        "h1's drain retried on the refusing Runtime API",
        async () => {
          const pending = (await h.describe()).raw.pendingActivities?.find((a) => a.activityType?.name === 'drainHost');
          return pending && (pending.attempt ?? 0) >= 3 ? pending : undefined;
        },
        120_000,
        100,
      ).then(async (pending) => expect(await stack.failureMessage(pending.lastFailure)).toMatch(/ECONNREFUSED/));
      expect(current('h1')).toBe(second);
      expect(systemd.calls().length).toBe(callsBefore);
    } finally {
      restore();
    }
    const result = (await handle.result()) as DeployStatus;
    const v2Before = traffic.stats.versions.v2 ?? 0;
    await waitFor('traffic served by v2', () => (traffic.stats.versions.v2 ?? 0) >= v2Before + 20, 30_000);
    const stats = await traffic.stop();
    expect(stats.errors).toEqual([]);
    expect(stats.failed).toBe(0);
    expect(result).toMatchObject({ kind: 'rollback', phase: 'done' });
    for (const h of HOSTS) {
      expect(result.hosts[h]).toMatchObject({ state: 'done', release: first, previous: second });
      expect(current(h)).toBe(first);
      expect(await adminState(h)).toBe(0);
      expect(await served(h)).toBe('v2');
      expect(restarts(callsBefore, h)).toBe(1);
    }
    await killWorker(worker.child);
  });

  test('deploy of h1 killed while its stuck drain waits for a person, the approve sent while no worker runs: h1 switched once, h2 and h3 untouched', async () => {
    const [first] = releases();
    for (const h of HOSTS) expect(current(h)).toBe(first);
    const callsBefore = systemd.calls().length;
    const { held } = await haproxy.holdSessionOn('h1');
    // Going on is the person's call: the restart may end the held request after the app's grace time.
    const heldEnd = held.catch(() => undefined);
    let worker = startWorker();
    const handle = await stack.client.workflow.start('deployWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'deploy-web',
      args: [{ ...rollbackOpts, ref: 'v1', hosts: ['h1'], drainTimeout: '500ms' }],
    });
    const status = () => handle.query(statusQuery);
    await waitFor('h1 drain-stuck', async () => (await status()).hosts.h1?.state === 'drain-stuck', 120_000, 100);
    expect((await status()).awaitingApproval).toBeDefined();
    await killWorker(worker.child);
    expect(current('h1')).toBe(first);
    expect(await adminState('h1')).not.toBe(0); // drained, waiting
    expect(restarts(callsBefore, 'h1')).toBe(0);
    await handle.signal(approveSignal, { by: 'night-shift', step: 'drain-h1' });

    worker = startWorker();
    const result = (await handle.result()) as DeployStatus;
    await heldEnd;
    expect(result.phase).toBe('done');
    expect(result.hosts.h1.state).toBe('done');
    const third = result.release!;
    expect(current('h1')).toBe(third);
    expect(await served('h1')).toBe('v1');
    expect(restarts(callsBefore, 'h1')).toBe(1);
    expect(await adminState('h1')).toBe(0);
    for (const h of ['h2', 'h3'] as const) {
      expect(current(h)).toBe(first);
      expect(restarts(callsBefore, h)).toBe(0);
      expect(await adminState(h)).toBe(0);
    }
    // built once: one more release directory on h1, none on the others
    expect(readdirSync(join(path('h1'), 'releases'))).toHaveLength(3);
    expect(readdirSync(join(path('h2'), 'releases'))).toHaveLength(2);
    await killWorker(worker.child);
    recordHistory(stack.temporalAddress(), 'deploy-web', 'deploy-drain-stuck-worker-killed');
  });
});

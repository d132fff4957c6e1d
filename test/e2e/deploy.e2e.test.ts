import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { request } from 'undici';
import { Stack } from '../helpers/stack';
import { SystemdStandin } from '../helpers/systemd-standin';
import { Sshd } from '../helpers/sshd';
import { Haproxy } from '../helpers/haproxy';
import { freePort, waitFor } from '../helpers/ports';
import { recordHistory } from '../helpers/histories';
import { HttpReceiver } from '../helpers/http-receiver';
import { makeAppRepo, type AppRepo } from '../helpers/deploy-fixture';
import { startTraffic } from '../helpers/traffic';
import type { DeployStatus } from '../../src/workflows/deploy/status';
import { temporalCliPath } from '../../scripts/temporal-binaries';
import {
  abortSignal,
  approveSignal,
  pauseSignal,
  resumeSignal,
  statusQuery,
} from '../../src/workflows/deploy/messages';

const HOSTS = ['h1', 'h2', 'h3'] as const;
type Host = (typeof HOSTS)[number];

/**
 * The deploy on the dev server across three hosts on this machine (own paths, own app processes
 * started by the stand-in systemctl, h2 reached over a real sshd), a real HAProxy in front, and a
 * real git repository: a good deploy under traffic, a bad commit rolled back, the lock, bad input.
 */
describe('deploy across a fleet (dev server)', () => {
  jest.setTimeout(300_000);
  let stack: Stack;
  let haproxy: Haproxy;
  let repo: AppRepo;
  let receiver: HttpReceiver;
  const systemd = new SystemdStandin();
  const sshd = new Sshd(systemd.binDir);
  const root = mkdtempSync(join(tmpdir(), 'opsflow-deploy-fleet-'));
  const path = (h: Host) => join(root, h);
  const ports = {} as Record<Host, number>;

  beforeAll(async () => {
    stack = await Stack.start();
    repo = makeAppRepo();
    for (const h of HOSTS) ports[h] = await freePort();
    await sshd.start();
    haproxy = await new Haproxy(
      stack.processes,
      HOSTS.map((h) => ({ name: h, port: ports[h], weight: 100 })),
    ).start();
    for (const h of HOSTS)
      systemd.defineUnit(`web-${h}`, [process.execPath, join(path(h), 'current', 'server.js')], {
        PORT: String(ports[h]),
        NAME: h,
      });
    receiver = await new HttpReceiver({ honourKey: true }).start();
    await stack.startWorker({
      notifiers: { ops: { type: 'webhook', url: `${receiver.url}/hook` } },
      systemd: {
        systemctl: systemd.systemctlPath,
        hosts: {
          box2: {
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
        cacheDir: join(root, 'worker-cache'),
        services: {
          web: {
            repository: repo.bare,
            path: path('h1'),
            lb: 'edge',
            commands: {
              // A host whose deploy path holds FAIL_INSTALL fails its build (cwd is releases/.building-<name>).
              install: {
                argv: [
                  'sh',
                  '-c',
                  'if [ -e ../../FAIL_INSTALL ]; then echo "install refused on this host" >&2; exit 7; fi; date +%s%N > INSTALLED',
                ],
                timeout: '30s',
              },
              migrate: { argv: ['sh', '-c', `echo "$PWD" >> ${join(root, 'migrations.log')}`], timeout: '30s' },
            },
            hosts: Object.fromEntries(
              HOSTS.map((h) => [
                h,
                {
                  ...(h === 'h2' ? { transport: { ssh: 'box2' } } : {}),
                  path: path(h),
                  lbServer: h,
                  healthUrl: `http://127.0.0.1:${ports[h]}/health`,
                  units: [`web-${h}`],
                },
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
    await sshd.stop();
    await haproxy?.stop();
    await receiver?.stop();
  });

  const current = (h: Host) => readlinkSync(join(path(h), 'current')).replace(/^releases\//, '');
  const served = async (h: Host) =>
    ((await (await request(`http://127.0.0.1:${ports[h]}/`)).body.json()) as { version: string }).version;
  const releases = (h: Host) => readdirSync(join(path(h), 'releases')).sort();
  const marked = (h: Host, release: string, marker: 'complete' | 'failed') =>
    existsSync(join(path(h), 'releases', release, `.opsflow-${marker}`));
  const deploy = (input: Record<string, unknown>) =>
    stack.client.workflow.start('deployWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'deploy-web',
      args: [{ service: 'web', healthCheck: { attempts: 40, interval: '250ms' }, drainTimeout: '10s', ...input }],
    });
  const serverState = async (h: Host) => {
    const { runtimeApiCommand } = await import('../../src/activities/systems/load-balancer/haproxy-runtime-api');
    const row = (await runtimeApiCommand({ socket: haproxy.socket }, 'show servers state app', 5000))
      .split('\n')
      .find((l) => l.split(' ')[3] === h)!;
    return Number(row.split(' ')[6]);
  };

  // An old complete release on every host, older than anything a deploy makes: pruning must remove it.
  const ancient = () => `20200101000000-${repo.commits.v1}`;

  test('first deploy (v1) to hosts that have nothing running yet', async () => {
    for (const h of HOSTS) {
      mkdirSync(join(path(h), 'releases', ancient()), { recursive: true });
      writeFileSync(join(path(h), 'releases', ancient(), '.opsflow-complete'), '');
    }
    const handle = await deploy({ ref: 'v1' });
    const status = (await handle.result()) as DeployStatus;
    expect(status.phase).toBe('done');
    for (const h of HOSTS) {
      expect(current(h)).toBe(status.release);
      expect(await served(h)).toBe('v1');
    }
  });

  test('good deploy of main in batches of one under traffic through HAProxy: 0 failed requests, every current on the new complete release, old ones pruned, migrations once', async () => {
    const traffic = startTraffic(haproxy.url, 4);
    // Traffic flowing before the first host moves and still on the new release after the last:
    // waited for by count, since a loaded machine sends fewer requests in any given time.
    await waitFor('traffic through HAProxy', () => traffic.stats.ok >= 20, 30_000);
    const handle = await deploy({ ref: 'main', serial: 1, keepReleases: 1 });
    const status = (await handle.result()) as DeployStatus;
    const v2Before = traffic.stats.versions.v2 ?? 0;
    await waitFor(
      'traffic served by v2 after the deploy',
      () => (traffic.stats.versions.v2 ?? 0) >= v2Before + 20,
      30_000,
    );
    const stats = await traffic.stop();
    expect(stats.errors).toEqual([]);
    expect(stats.failed).toBe(0);
    expect(stats.versions.v1).toBeGreaterThanOrEqual(20);
    expect(status).toMatchObject({
      phase: 'done',
      commit: repo.commits.v2,
      migrations: 'ran',
      batches: [['h1'], ['h2'], ['h3']],
    });
    const v1 = Object.values(status.hosts)[0].previous!;
    for (const h of HOSTS) {
      expect(current(h)).toBe(status.release);
      expect(marked(h, status.release!, 'complete')).toBe(true);
      expect(await served(h)).toBe('v2');
      expect(await serverState(h)).toBe(0); // ready, none left drained
      // keepReleases 1: the new one and its predecessor (the rollback target) stay; the ancient one went
      expect(releases(h)).toEqual([v1, status.release].sort());
    }
    const migrations = (await import('node:fs')).readFileSync(join(root, 'migrations.log'), 'utf8').trim().split('\n');
    expect(migrations.filter((l) => l.includes(status.release!))).toEqual([
      join(path('h1'), 'releases', status.release!),
    ]);
    recordHistory(stack.temporalAddress(), 'deploy-web', 'deploy-good');
  });

  test('bad commit: the first host fails its health check and is rolled back (serving v2 through HAProxy), the deploy stops, the others are untouched, the release is marked failed', async () => {
    const before = Object.fromEntries(HOSTS.map((h) => [h, current(h)]));
    const traffic = startTraffic(haproxy.url, 4);
    // Five attempts, three passes needed: after three failures the two left cannot make it.
    const handle = await deploy({ ref: 'bad', healthCheck: { attempts: 5, interval: '300ms' }, notify: ['ops'] });
    const err = await handle.result().catch((e) => e);
    const stats = await traffic.stop();
    expect(err).toBeInstanceOf(WorkflowFailedError);
    // The run's own failure names the host, its step and the cause, not only the budget.
    expect(err.cause.message).toMatch(
      /deploy of web stopped: 1 of 1 hosts failed in the batch \(100 % > budget 0 %\): h1 \(health check\): health check failed after 3 attempts \(HTTP 500\)$/,
    );
    const status = await handle.query(statusQuery);
    expect(status.hosts.h1).toMatchObject({
      state: 'rolled-back',
      error: expect.stringMatching(/health check failed after 3 attempts \(HTTP 500\)/),
    });
    expect(status.hosts.h2).toEqual({ state: 'pending' });
    for (const h of HOSTS) expect(current(h)).toBe(before[h]);
    expect(marked('h1', status.release!, 'failed')).toBe(true);
    expect(releases('h2')).not.toContain(status.release);
    expect(releases('h3')).not.toContain(status.release);
    expect(await served('h1')).toBe('v2');
    expect(await serverState('h1')).toBe(0);
    expect(stats.failed).toBe(0);
    // one message to the notifier, saying why it stopped and how each host stands
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0].json).toMatchObject({
      title: 'Deploy of web stopped',
      severity: 'critical',
      text: expect.stringMatching(/1 of 1 hosts failed in the batch[\s\S]*- h1: rolled-back/),
    });
    // through HAProxy every host answers v2 again
    const seen = new Set<string>();
    for (let i = 0; i < 9; i++)
      seen.add(JSON.stringify(await (await request(haproxy.url, { headers: { connection: 'close' } })).body.json()));
    expect([...seen].map((s) => JSON.parse(s)).every((b: { version: string }) => b.version === 'v2')).toBe(true);
    recordHistory(stack.temporalAddress(), 'deploy-web', 'deploy-bad-commit');
  });

  test('within the failure budget the deploy goes on: the first failed host (1 of 3) is within 50 %, the second (2 of 3) is not; the third is untouched', async () => {
    const before = Object.fromEntries(HOSTS.map((h) => [h, current(h)]));
    const handle = await deploy({
      ref: 'bad',
      healthCheck: { attempts: 5, interval: '300ms' },
      maxFailPercent: { batch: 100, fleet: 50 },
    });
    const err = await handle.result().catch((e) => e);
    // The cause's words are the probe's: a 500, or a refused connection while the app restarts.
    expect(err.cause.message).toMatch(
      /stopped: 2 of 3 hosts failed in the fleet \(66.7 % > budget 50 %\): h1 \(health check\): health check failed after \d attempts \([^)]+\); h2 \(health check\): health check failed after \d attempts \([^)]+\)$/,
    );
    const status = await handle.query(statusQuery);
    expect([status.hosts.h1.state, status.hosts.h2.state, status.hosts.h3.state]).toEqual([
      'rolled-back',
      'rolled-back',
      'pending',
    ]);
    for (const h of HOSTS) expect(current(h)).toBe(before[h]);
    expect(releases('h3')).not.toContain(status.release);
  });

  test('a release answering 503 on every other request never counts as healthy: rolled back on the first host behind HAProxy, the fleet stops whatever the budget, 0 failed requests at the LB', async () => {
    const before = Object.fromEntries(HOSTS.map((h) => [h, current(h)]));
    const traffic = startTraffic(haproxy.url, 4);
    await waitFor('traffic through HAProxy', () => traffic.stats.ok >= 20, 30_000);
    const okBefore = traffic.stats.ok;
    // A budget that would let every host fail: the flap stops the deploy anyway.
    const handle = await deploy({
      ref: 'flap',
      healthCheck: { attempts: 10, interval: '250ms' },
      maxFailPercent: { batch: 100, fleet: 100 },
    });
    const err = await handle.result().catch((e) => e);
    const stats = await traffic.stop();
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause.message).toMatch(
      /^deploy of web stopped: the release flapped on h1 \(passed, then failed its health check\): a flapping release stops the deploy whatever the budget: h1 \(health check\): health check failed after \d+ attempts: flapping \(HTTP 200 at attempt \d+, then HTTP 503 at attempt \d+; \d+ of \d+ passed, 3 consecutive needed\)$/,
    );
    const status = await handle.query(statusQuery);
    expect(status.hosts.h1.state).toBe('rolled-back');
    expect([status.hosts.h2.state, status.hosts.h3.state]).toEqual(['pending', 'pending']);
    for (const h of HOSTS) expect(current(h)).toBe(before[h]);
    expect(marked('h1', status.release!, 'failed')).toBe(true);
    expect(await served('h1')).toBe('v2');
    expect(await serverState('h1')).toBe(0);
    // Drained while it was checked, ready again only on the good release: nobody saw a 503.
    expect(stats.errors).toEqual([]);
    expect(stats.failed).toBe(0);
    expect(stats.ok).toBeGreaterThan(okBefore);
    recordHistory(stack.temporalAddress(), 'deploy-web', 'deploy-flapping-release');
  });

  test('a second deploy of the service while one runs is refused, by the client, the opsflow CLI and the documented temporal command (clear message, exit 1, nothing started); after an abort and after a terminate a CLI start runs, having touched nothing', async () => {
    const before = Object.fromEntries(HOSTS.map((h) => [h, current(h)]));
    const releasesBefore = Object.fromEntries(HOSTS.map((h) => [h, releases(h)]));
    // Held at its first-host approval, it holds the lock with nothing moving on any host.
    const handle = await deploy({ ref: 'v1', approval: 'first-host' });
    await expect(deploy({ ref: 'v1' })).rejects.toThrow(/already started|already running/i);

    // The operator's way in: another ref, so anything it deployed would be a new release.
    const refused = await stack.cli(['start', 'deploy', '--input', JSON.stringify({ service: 'web', ref: 'main' })]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      new RegExp(
        `^opsflow: a run with id deploy-web is already running \\(deployWorkflow, run ${handle.firstExecutionRunId}, started [^)]+\\); nothing was started: ` +
          'one deploy or rollback of web runs at a time \\(the running workflow is its lock\\); wait for it \\(opsflow result deploy-web\\) or stop it \\(opsflow abort deploy-web\\)\n$',
      ),
    );
    // Still the first deploy holding the lock, untouched by the refused start; no host got anything.
    expect((await stack.client.workflow.getHandle('deploy-web').describe()).runId).toBe(handle.firstExecutionRunId);
    expect(await handle.query(statusQuery)).toMatchObject({ ref: 'v1', batch: 0 });
    for (const h of HOSTS) {
      expect(releases(h)).toEqual(releasesBefore[h]);
      expect(current(h)).toBe(before[h]);
    }
    // The plain temporal CLI: without --fail-existing it exits 0 and prints the running run (nothing new starts, nobody is told).
    const plain = await temporalCli([
      'workflow',
      'start',
      '--type',
      'deployWorkflow',
      '--task-queue',
      'opsflow',
      '--workflow-id',
      'deploy-web',
      '--id-conflict-policy',
      'Fail',
      '--input',
      '{"service":"web","ref":"main"}',
    ]);
    expect(plain).toMatchObject({ code: 0, stdout: expect.stringContaining(handle.firstExecutionRunId) });
    // The command docs/deploy.md gives refuses visibly: exit 1, naming the run that holds the lock.
    const documented = documentedTemporalStart();
    expect(documented).toContain('--fail-existing');
    const refusedByTemporal = await temporalCli(documented);
    expect(refusedByTemporal.code).toBe(1);
    expect(refusedByTemporal.stderr).toMatch(
      new RegExp(
        `Workflow execution is already running\\. WorkflowId: deploy-web, RunId: ${handle.firstExecutionRunId}`,
      ),
    );
    expect((await stack.client.workflow.getHandle('deploy-web').describe()).runId).toBe(handle.firstExecutionRunId);

    await handle.signal(abortSignal, { by: 'ann', reason: 'wrong ref' });
    const err = await handle.result().catch((e) => e);
    expect(err.cause.message).toMatch(/stopped: aborted by ann before batch 1: wrong ref/);
    for (const h of HOSTS) expect(current(h)).toBe(before[h]);

    // The lock is free after an abort: the operator's next start through the CLI runs.
    const held = JSON.stringify({ service: 'web', ref: 'main', approval: 'first-host' });
    const afterAbort = await startHeldThroughCli(held, handle.firstExecutionRunId);
    await afterAbort.signal(abortSignal, { by: 'ann', reason: 'only checking the lock' });
    await afterAbort.result().catch(() => undefined);

    // And after a terminate (a run killed from outside, no workflow code ran to free anything).
    const terminated = await deploy({ ref: 'v1', approval: 'first-host' });
    await waitFor(
      'deploy awaiting approval',
      async () => (await terminated.query(statusQuery)).phase === 'awaiting-approval',
      60_000,
      100,
    );
    await terminated.terminate('operator killed it');
    const afterTerminate = await startHeldThroughCli(held, terminated.firstExecutionRunId);
    await afterTerminate.signal(abortSignal, { by: 'ann', reason: 'only checking the lock' });
    await afterTerminate.result().catch(() => undefined);
    for (const h of HOSTS) {
      expect(current(h)).toBe(before[h]);
      expect(releases(h)).toEqual(releasesBefore[h]);
    }
  });

  /** `opsflow start deploy` through the real CLI: it must start a new run (not `previous`) that runs, holding the lock. */
  const startHeldThroughCli = async (input: string, previous: string) => {
    const started = await stack.cli(['start', 'deploy', '--input', input]);
    expect(started).toMatchObject({ code: 0, stderr: '' });
    const run = /^started deployWorkflow deploy-web \(run ([0-9a-f-]+)\)$/m.exec(started.stdout)?.[1];
    expect(run).toBeDefined();
    expect(run).not.toBe(previous);
    const h = stack.client.workflow.getHandle('deploy-web', run);
    await waitFor(
      'the new deploy running, held at its approval',
      async () => (await h.query(statusQuery)).phase === 'awaiting-approval',
      60_000,
      100,
    );
    expect((await h.describe()).status.name).toBe('RUNNING');
    return h;
  };

  /** The bundled temporal CLI against this dev server. */
  const temporalCli = async (args: string[]) => {
    const codec = await stack.temporalCodecArgs(); // the encrypted mode's codec server, else nothing
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        temporalCliPath()!,
        [...args, ...codec],
        {
          env: { ...process.env, TEMPORAL_ADDRESS: stack.temporalAddress(), TEMPORAL_NAMESPACE: 'default' },
          timeout: 30_000,
        },
        (e, stdout, stderr) => resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr }),
      ),
    );
  };

  /** The `temporal workflow start` of docs/deploy.md, for this test's service, as argv. */
  const documentedTemporalStart = (): string[] => {
    const doc = readFileSync(join(__dirname, '../../docs/deploy.md'), 'utf8');
    const cmd = /^temporal workflow start (?:[^\n]*\\\n)*[^\n]*/m.exec(doc)?.[0];
    if (!cmd) throw new Error('docs/deploy.md has no `temporal workflow start` command');
    const words = cmd
      .replace(/\\\n/g, ' ')
      .match(/'[^']*'|\S+/g)!
      .map((w) => w.replace(/^'(.*)'$/, '$1'));
    return words.slice(1).map((w) => w.replace(/shop/g, 'web'));
  };

  test('bad input: unknown service, unknown host, a ref that does not resolve, serial 0: an error naming the field, nothing touched', async () => {
    const before = Object.fromEntries(HOSTS.map((h) => [h, releases(h).join(',')]));
    const fail = async (input: Record<string, unknown>, id = 'deploy-web') =>
      (await stack.client.workflow.start('deployWorkflow', { taskQueue: 'opsflow', workflowId: id, args: [input] }))
        .result()
        .catch((e) => e.cause.message as string);
    expect(await fail({ service: 'web', ref: 'main', serial: 0 })).toMatch(
      /invalid deployWorkflow input:\nserial: at least 1 host/,
    );
    expect(await fail({ service: 'api', ref: 'main' }, 'deploy-api')).toMatch(/service: "api" is not a deploy service/);
    expect(await fail({ service: 'web', ref: 'main', hosts: ['h1', 'h9'] })).toMatch(
      /hosts: "h9" not a host of service web/,
    );
    expect(await fail({ service: 'web', ref: 'no-such-branch' })).toMatch(
      /ref: ref "no-such-branch" does not resolve to a commit/,
    );
    // The lock is the workflow id: a deploy under any other id would bypass it, so it never starts.
    expect(await fail({ service: 'web', ref: 'main' }, 'deploy-web-2')).toMatch(
      /must run as workflow id "deploy-web" \(got "deploy-web-2"\)/,
    );
    expect(await fail({ service: 'web', ref: 'main', healthCheck: { attempts: 2 } })).toMatch(
      /healthCheck\.attempts: 2 attempts can never give the 3 consecutive passes/,
    );
    for (const h of HOSTS) expect(releases(h).join(',')).toBe(before[h]);
  });

  test('rollbackDeployWorkflow takes every host back to its previous complete release through the same saga', async () => {
    const v2 = current('h1');
    const handle = await stack.client.workflow.start('rollbackDeployWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'deploy-web',
      args: [{ service: 'web', serial: '100%', healthCheck: { attempts: 40, interval: '250ms' } }],
    });
    const status = (await handle.result()) as DeployStatus;
    expect(status.phase).toBe('done');
    for (const h of HOSTS) {
      expect(current(h)).not.toBe(v2);
      expect(await served(h)).toBe('v1');
    }
  });

  const holdSessionOn = (h: Host) => haproxy.holdSessionOn(h);

  test('a drain that does not reach 0 sessions asks a person; approve goes on', async () => {
    const { held } = await holdSessionOn('h1');
    // Going on is the person's call: the restart ends the held request after the app's own grace time.
    const heldEnd = held.catch(() => undefined);
    const handle = await deploy({ ref: 'main', hosts: ['h1'], drainTimeout: '500ms' });
    await waitFor(
      'h1 drain-stuck',
      async () => (await handle.query(statusQuery)).hosts.h1?.state === 'drain-stuck',
      30_000,
      100,
    );
    const stuck = await handle.query(statusQuery);
    expect(stuck.hosts.h1.error).toMatch(/^1 sessions after 500ms$/);
    expect(await served('h1')).toBe('v1'); // nothing switched while it waits
    await handle.signal(approveSignal, { by: 'ann' });
    const status = (await handle.result()) as DeployStatus;
    expect(status.hosts.h1.state).toBe('done');
    expect(await served('h1')).toBe('v2');
    await heldEnd;
    // h1's failed releases (bad twice, flap) were newer than its oldest kept complete one: pruned first all the same.
    expect(releases('h1').filter((r) => marked('h1', r, 'failed'))).toEqual([]);
  });

  let abortedOnH2 = '';
  test('a drain that does not reach 0 sessions, answered with abort: the host is made ready again and left on its release', async () => {
    const before = current('h2');
    const { held } = await holdSessionOn('h2');
    const handle = await deploy({ ref: 'main', hosts: ['h2'], drainTimeout: '500ms' });
    await waitFor(
      'h2 drain-stuck',
      async () => (await handle.query(statusQuery)).hosts.h2?.state === 'drain-stuck',
      30_000,
      100,
    );
    await handle.signal(abortSignal, { by: 'ann', reason: 'long uploads running' });
    const err = await handle.result().catch((e) => e);
    expect(err.cause.message).toMatch(/deploy of web stopped: 1 of 1 hosts failed/);
    expect((await handle.query(statusQuery)).hosts.h2).toMatchObject({
      state: 'rolled-back',
      error: expect.stringMatching(/h2: drain not confirmed \(1 sessions\) and aborted/),
    });
    expect(current('h2')).toBe(before);
    expect(await serverState('h2')).toBe(0);
    expect(await held).toMatchObject({ name: 'h2' }); // nothing was cut: the request got its answer
    // Built, never switched to: marked failed like a rolled-back one (never a rollback target, pruned first).
    abortedOnH2 = (await handle.query(statusQuery)).release!;
    expect(marked('h2', abortedOnH2, 'failed')).toBe(true);
    expect(err.cause.message).toMatch(/: h2 \(drain\): drain not confirmed \(1 sessions\) and aborted$/);
    recordHistory(stack.temporalAddress(), 'deploy-web', 'deploy-drain-aborted-built-release-failed');
  });

  /** Each server's version as HAProxy serves it (round robin over fresh connections). */
  const versionsThroughHaproxy = async () => {
    const seen: Record<string, Set<string>> = {};
    for (let i = 0; i < 12; i++) {
      const b = (await (await request(haproxy.url, { headers: { connection: 'close' } })).body.json()) as {
        name: string;
        version: string;
      };
      (seen[b.name] ??= new Set()).add(b.version);
    }
    return Object.fromEntries(Object.entries(seen).map(([n, v]) => [n, [...v].sort().join(',')]));
  };

  test('rollbackFleetOnFailure: a later batch over budget rolls back the hosts already upgraded too; they serve the old version through HAProxy', async () => {
    const before = { h2: current('h2'), h3: current('h3') };
    expect(await served('h2')).toBe('v1');
    writeFileSync(join(path('h3'), 'FAIL_INSTALL'), '');
    try {
      const handle = await deploy({ ref: 'main', hosts: ['h2', 'h3'], serial: 1, rollbackFleetOnFailure: true });
      const err = await handle.result().catch((e) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(err.cause.message).toMatch(
        /deploy of web stopped: 1 of 1 hosts failed in the batch \(100 % > budget 0 %\): h3 \(build\): install \(sh -c .*\) exited 7: install refused on this host$/,
      );
      const status = await handle.query(statusQuery);
      expect(status.log).toEqual(expect.arrayContaining([expect.stringMatching(/^h2: on /)]));
      // h2 was upgraded in batch 1, then taken back to where it was by the fleet rollback
      expect(status.hosts.h2).toMatchObject({ state: 'done', release: before.h2 });
      expect(status.hosts.h3).toMatchObject({
        state: 'rolled-back',
        error: expect.stringMatching(/install refused on this host/),
      });
      expect(current('h2')).toBe(before.h2);
      expect(current('h3')).toBe(before.h3);
      expect(marked('h2', status.release!, 'complete')).toBe(true); // it did pass its health check: a good release, just not current
      expect(await served('h2')).toBe('v1');
      expect(await serverState('h2')).toBe(0);
      expect(await serverState('h3')).toBe(0);
      expect(await versionsThroughHaproxy()).toMatchObject({ h2: 'v1', h3: 'v1' });
    } finally {
      (await import('node:fs')).rmSync(join(path('h3'), 'FAIL_INSTALL'), { force: true });
    }
  });

  test('pause between batches holds the deploy with nothing moving; resume finishes it', async () => {
    const before = { h2: current('h2'), h3: current('h3') };
    const handle = await deploy({ ref: 'main', hosts: ['h2', 'h3'], serial: 1 });
    await handle.signal(pauseSignal, { by: 'ann', reason: 'watching the graphs' });
    await waitFor('deploy paused', async () => (await handle.query(statusQuery)).phase === 'paused', 60_000, 100);
    const held = await handle.query(statusQuery);
    const untouched = (['h2', 'h3'] as const).filter((h) => held.hosts[h].state === 'pending');
    expect(untouched.length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 2000));
    const still = await handle.query(statusQuery);
    expect(still.phase).toBe('paused');
    expect(still.hosts).toEqual(held.hosts);
    for (const h of untouched) {
      expect(current(h)).toBe(before[h]);
      expect(await served(h)).toBe('v1');
    }
    expect(still.log).toEqual(expect.arrayContaining(['paused by ann: watching the graphs']));
    await handle.signal(resumeSignal, { by: 'ann' });
    const status = (await handle.result()) as DeployStatus;
    expect(status.phase).toBe('done');
    for (const h of ['h2', 'h3'] as const) {
      expect(current(h)).toBe(status.release);
      expect(await served(h)).toBe('v2');
    }
    expect(await versionsThroughHaproxy()).toMatchObject({ h2: 'v2', h3: 'v2' });
    expect(abortedOnH2).not.toBe('');
    expect(releases('h2')).not.toContain(abortedOnH2);
  });
});

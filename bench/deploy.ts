import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { request } from 'undici';
import { Stack } from '../test/helpers/stack';
import { SystemdStandin } from '../test/helpers/systemd-standin';
import { Haproxy } from '../test/helpers/haproxy';
import { freePort } from '../test/helpers/ports';
import { makeAppRepo } from '../test/helpers/deploy-fixture';
import { startTraffic } from '../test/helpers/traffic';
import type { DeployStatus } from '../src/workflows/deploy/status';

const HOSTS = ['h1', 'h2', 'h3'];

/**
 * A three-host deploy under constant load through a real HAProxy (dev server, stand-in systemctl
 * running real app processes), repeated until at least `minRequests` requests went through during
 * deploys; failed requests counted. Then the runbooks §7 script's logic on the same hosts (in place:
 * stop, replace the tree, start, health check; no drain) under the same load, for comparison.
 * Time per host beyond the health-check wait is read from the history (the saga's own cost).
 *
 *   npm run bench -- deploy [minRequests=10000]
 */
export async function main(args: string[]) {
  const minRequests = Number(args[0] ?? 10_000);
  const stack = await Stack.start();
  const systemd = new SystemdStandin();
  const root = mkdtempSync(join(tmpdir(), 'opsflow-bench-deploy-'));
  const repo = makeAppRepo();
  const ports: Record<string, number> = {};
  for (const h of HOSTS) ports[h] = await freePort();
  const haproxy = await new Haproxy(
    stack.processes,
    HOSTS.map((h) => ({ name: h, port: ports[h], weight: 100 })),
  ).start();
  try {
    for (const h of HOSTS)
      systemd.defineUnit(`web-${h}`, [process.execPath, join(root, h, 'current', 'server.js')], {
        PORT: String(ports[h]),
        NAME: h,
      });
    await stack.startWorker({
      systemd: { systemctl: systemd.systemctlPath },
      loadBalancers: { edge: { type: 'haproxy', runtimeApi: { socket: haproxy.socket }, backend: 'app' } },
      deploy: {
        cacheDir: join(root, 'cache'),
        services: {
          web: {
            repository: repo.bare,
            path: join(root, 'h1'),
            lb: 'edge',
            hosts: Object.fromEntries(
              HOSTS.map((h) => [
                h,
                {
                  path: join(root, h),
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
    const deploy = async (ref: string) => {
      const handle = await stack.client.workflow.start('deployWorkflow', {
        taskQueue: 'opsflow',
        workflowId: 'deploy-web',
        args: [{ service: 'web', ref, serial: 1, healthCheck: { attempts: 40, interval: '250ms' }, keepReleases: 2 }],
      });
      const status = (await handle.result()) as DeployStatus;
      return { status, perHost: await sagaSeconds(handle.fetchHistory.bind(handle)) };
    };
    await deploy('v1'); // hosts running before the measured deploys

    const traffic = startTraffic(haproxy.url, 8);
    let deploys = 0;
    const overhead: number[] = [];
    const refs = ['main', 'v1'];
    const t0 = performance.now();
    while (traffic.stats.ok + traffic.stats.failed < minRequests || deploys === 0) {
      const { perHost } = await deploy(refs[deploys % 2]);
      overhead.push(...perHost);
      deploys++;
      if (deploys > 200) break;
    }
    const ours = await traffic.stop();
    const ourSeconds = (performance.now() - t0) / 1000;

    // runbooks §7 in place: every host in the LB the whole time; stop, replace the tree, start, check.
    const naive = startTraffic(haproxy.url, 8);
    const n0 = performance.now();
    let naiveRounds = 0;
    // As many rounds as opsflow deployed: requests stuck on a stopped server (HAProxy retries it)
    // make this phase slow, so it is bounded by rounds, not by a request count.
    for (; naiveRounds < deploys; naiveRounds++) {
      for (const h of HOSTS) {
        await inPlace(root, h, repo.bare, naiveRounds % 2 ? 'v1' : 'main', systemd);
        await healthy(ports[h]);
      }
    }
    const theirs = await naive.stop();
    const naiveSeconds = (performance.now() - n0) / 1000;

    const median = [...overhead].sort((a, b) => a - b)[Math.floor(overhead.length / 2)];
    console.log(`command: npm run bench -- deploy ${minRequests}`);
    console.log(
      `opsflow deploy: ${deploys} deploys of 3 hosts in ${ourSeconds.toFixed(1)} s, ${ours.ok + ours.failed} requests through HAProxy, ${ours.failed} failed, ${ours.slowerThan1s} slower than 1 s (max ${(ours.maxMs / 1000).toFixed(2)} s)`,
    );
    console.log(
      `time per host beyond the health-check wait (drain, build, switch, restart, ready): median ${median.toFixed(2)} s, max ${Math.max(...overhead).toFixed(2)} s over ${overhead.length} host sagas`,
    );
    console.log(
      `runbooks §7 in place (stop, replace, start): ${naiveRounds} rounds of 3 hosts in ${naiveSeconds.toFixed(1)} s, ${theirs.ok + theirs.failed} requests, ${theirs.failed} failed, ${theirs.slowerThan1s} slower than 1 s (max ${(theirs.maxMs / 1000).toFixed(2)} s)`,
    );
    if (ours.errors.length) console.log(`first opsflow failures: ${ours.errors.slice(0, 3).join(' | ')}`);
    console.log(`deploy: ${ours.failed} failed requests (target 0)`);
  } finally {
    await stack.stop();
    systemd.stopAll();
    await haproxy.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/** Per host saga: its wall time minus its health checks, from the history's activity events. */
async function sagaSeconds(fetchHistory: () => Promise<{ events?: unknown[] | null }>): Promise<number[]> {
  type Ev = {
    eventId?: { toString(): string };
    eventTime?: { seconds?: { toString(): string }; nanos?: number };
    activityTaskScheduledEventAttributes?: { activityType?: { name?: string }; input?: { payloads?: unknown[] } };
    activityTaskCompletedEventAttributes?: { scheduledEventId?: { toString(): string } };
  };
  const events = ((await fetchHistory()).events ?? []) as Ev[];
  const time = (e: Ev) => Number(e.eventTime?.seconds?.toString() ?? 0) + (e.eventTime?.nanos ?? 0) / 1e9;
  const scheduled = new Map<string, { host: string; type: string; at: number }>();
  const perHost: Record<string, { first: number; last: number; health: number }> = {};
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) {
      const arg = defaultPayloadConverter.fromPayload<{ host?: string }>((s.input?.payloads ?? [])[0] as never);
      // The prune after the last batch is not part of any host's saga.
      if (arg?.host && s.activityType?.name !== 'pruneHostReleases')
        scheduled.set(e.eventId!.toString(), { host: arg.host, type: s.activityType?.name ?? '', at: time(e) });
    }
    const c = e.activityTaskCompletedEventAttributes;
    if (c) {
      const sch = scheduled.get(c.scheduledEventId!.toString());
      if (!sch) continue;
      const h = (perHost[sch.host] ??= { first: sch.at, last: time(e), health: 0 });
      h.first = Math.min(h.first, sch.at);
      h.last = Math.max(h.last, time(e));
      if (sch.type === 'checkHostHealth') h.health += time(e) - sch.at;
    }
  }
  return Object.values(perHost).map((h) => h.last - h.first - h.health);
}

const run = promisify(execFile);

/** runbooks §7 per host, in place; asynchronous, so the traffic generator in this process keeps sending meanwhile. */
async function inPlace(root: string, h: string, bare: string, ref: string, systemd: SystemdStandin): Promise<void> {
  const dir = join(root, h, 'current');
  await run(systemd.systemctlPath, ['stop', `web-${h}`]);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await run('sh', ['-c', 'git --git-dir="$1" archive "$2" | tar -x -C "$3"', 'sh', bare, ref, dir]);
  await run(systemd.systemctlPath, ['start', `web-${h}`]);
}

async function healthy(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const res = await request(`http://127.0.0.1:${port}/health`);
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} not healthy after 10 s`);
}

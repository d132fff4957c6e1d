import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { Stack, waitFor, writeConfig } from '../test/helpers/stack';
import { pgConnection, redisConnection, requirePostgres, requireRedis } from '../test/helpers/services';
import type { HealthCheckResult } from '../src/workflows/health/workflow';

/**
 * Throughput of opsflow's workers on one Temporal dev server: N health-check runs started at once
 * (each a planning activity and six checks: four HTTP endpoints, PostgreSQL, Redis), finished by
 * one worker process, then by three. Prints runs and activities per second, the load average, and
 * the CPU seconds the server, the workers and this process used, to say what limits it.
 *
 * `npm run bench -- scale-out [runs]` (default 300).
 */

const HZ = 100; // USER_HZ: /proc's clock ticks on Linux
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime (fields 14-17; index 11-14 after the command)
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / HZ;
  } catch {
    return 0;
  }
}

/** The dev server's pid: the process whose command line holds its frontend port. */
function serverPid(port: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (
        cmd.some((a) => a.endsWith('temporal') || a.includes('temporal-cli')) &&
        cmd.includes('start-dev') &&
        cmd.includes(port)
      )
        return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

interface Round {
  workers: number;
  runs: number;
  activities: number;
  seconds: number;
  load: [number, number];
  cpu: { server: number; workers: number; bench: number };
}

async function round(
  stack: Stack,
  configPath: string,
  workers: number,
  runs: number,
  serverPidOf: number | undefined,
  tag: string,
): Promise<Round> {
  const procs = Array.from({ length: workers }, () => stack.spawnWorkerProcess(configPath));
  const input = {
    targets: { resources: false, http: ['a', 'b', 'c', 'd'], postgres: ['db'], redis: ['cache'], hosts: [] },
  };
  const run = (id: string) =>
    stack.client.workflow.execute('healthCheckWorkflow', {
      taskQueue: 'opsflow',
      workflowId: id,
      args: [input],
    }) as Promise<HealthCheckResult>;
  // Every worker polling and warm (its workflow code loaded) before the clock starts.
  await waitFor(
    'workers warm',
    async () => {
      await Promise.all(Array.from({ length: workers * 3 }, (_, i) => run(`warm-${tag}-${i}-${Date.now()}`)));
      return true;
    },
    180_000,
  );
  const cpu0 = {
    server: serverPidOf ? cpuSeconds(serverPidOf) : 0,
    workers: procs.reduce((a, p) => a + cpuSeconds(p.child.pid!), 0),
    bench: process.cpuUsage(),
  };
  const load0 = loadavg()[0];
  const t0 = process.hrtime.bigint();
  const results = await Promise.all(Array.from({ length: runs }, (_, i) => run(`bench-${tag}-${i}`)));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const bench = process.cpuUsage(cpu0.bench);
  const cpu = {
    server: serverPidOf ? cpuSeconds(serverPidOf) - cpu0.server : NaN,
    workers: procs.reduce((a, p) => a + cpuSeconds(p.child.pid!), 0) - cpu0.workers,
    bench: (bench.user + bench.system) / 1e6,
  };
  const unhealthy = results.filter((r) => r.healthy !== r.total).length;
  if (unhealthy)
    throw new Error(`${unhealthy} runs reported a check down: the figures would not be of the normal path`);
  // one planning activity per run, and one per check
  const activities = results.reduce((a, r) => a + 1 + r.total, 0);
  for (const p of procs) await stack.processes.kill(p.child);
  return { workers, runs, activities, seconds, load: [load0, loadavg()[0]], cpu };
}

export async function main(argv: string[]) {
  const runs = Number(argv[0] ?? 300);
  if (!Number.isInteger(runs) || runs < 10) throw new Error(`runs: a whole number of at least 10, got "${argv[0]}"`);
  await Promise.all([requirePostgres(), requireRedis()]);
  const web = createServer((_q, r) => r.end('ok'));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(web.address() as AddressInfo).port}/health`;
  const configPath = writeConfig({
    http: { a: { url }, b: { url }, c: { url }, d: { url } },
    postgres: { db: pgConnection },
    redis: { cache: redisConnection },
  });
  const stack = await Stack.start();
  const rounds: Round[] = [];
  try {
    const pid = serverPid(stack.temporalAddress().split(':').pop()!);
    for (const workers of [1, 3]) {
      const r = await round(stack, configPath, workers, runs, pid, `w${workers}`);
      rounds.push(r);
      const wall = r.seconds * cpus().length;
      console.log(
        `${workers} worker${workers > 1 ? 's' : ' '}: ${r.runs} runs, ${r.activities} activities in ${r.seconds.toFixed(1)} s = ` +
          `${(r.runs / r.seconds).toFixed(1)} runs/s, ${(r.activities / r.seconds).toFixed(1)} activities/s; load average ${r.load[0].toFixed(2)} -> ${r.load[1].toFixed(2)}; ` +
          `CPU s: server ${r.cpu.server.toFixed(1)}, workers ${r.cpu.workers.toFixed(1)}, bench client ${r.cpu.bench.toFixed(1)} ` +
          `(${(((r.cpu.server + r.cpu.workers + r.cpu.bench) / wall) * 100).toFixed(0)} % of ${cpus().length} cores)`,
      );
    }
  } finally {
    await stack.stop();
    web.close();
  }
  const [one, three] = rounds;
  const ratio = three.runs / three.seconds / (one.runs / one.seconds);
  const perRun = (r: Round) => ({ server: (r.cpu.server / r.runs) * 1000, workers: (r.cpu.workers / r.runs) * 1000 });
  console.log(
    `CPU ms per run: server ${perRun(one).server.toFixed(0)} / ${perRun(three).server.toFixed(0)}, workers ${perRun(one).workers.toFixed(0)} / ${perRun(three).workers.toFixed(0)} (1 / 3 workers)`,
  );
  console.log(
    `scale-out: ${ratio.toFixed(2)}x runs/s with 3 workers against 1 (target: more than 1x where cores are free)`,
  );
}

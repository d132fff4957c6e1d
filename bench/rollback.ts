import { Stack } from '../test/helpers/stack';
import { waitFor } from '../test/helpers/ports';
import { blueGreenBehindHaproxy, type Haproxy } from '../test/helpers/haproxy';
import { runtimeApiCommand } from '../src/activities/load-balancer/haproxy-runtime-api';
import type { RolloutStatus } from '../src/workflows/rollout/status';

/**
 * Time to rollback: from the moment the new backend starts failing (HTTP 500) to the moment
 * HAProxy's Runtime API reads weight 0 for it, with a 1 s sample interval, on the dev server with
 * a real HAProxy and an HTTP probe through it. Target: one sample interval + 1 s.
 *
 *   npm run bench -- rollback [runs=5]
 */
export async function main(args: string[]) {
  const runs = Math.max(5, Number(args[0] ?? 5) || 5);
  const intervalMs = 1000;
  const stack = await Stack.start();
  let haproxy: Haproxy | undefined;
  try {
    const fixture = await blueGreenBehindHaproxy(stack.processes);
    const { green } = fixture;
    haproxy = fixture.haproxy;
    const socket = haproxy.socket;
    const api = (cmd: string) => runtimeApiCommand({ socket }, cmd, 5000);
    await stack.startWorker({
      loadBalancers: { edge: { type: 'haproxy', runtimeApi: { socket }, backend: 'app' } },
      metricSources: { 'through-lb': { type: 'probe', url: `${haproxy.url}/`, requests: 20, minRequests: 10, concurrency: 4, timeoutMs: 3000 } },
    });
    const times: number[] = [];
    for (let i = 1; i <= runs; i++) {
      await green.setStatus(200);
      await api('set server app/blue weight 100');
      await api('set server app/green weight 0');
      const id = `rollout-bench-${i}`;
      const handle = await stack.client.workflow.start('phasedRolloutWorkflow', {
        taskQueue: 'opsflow',
        workflowId: id,
        args: [
          {
            service: `bench-${i}`,
            lb: 'edge',
            backends: { old: 'blue', new: 'green' },
            metricSources: ['through-lb'],
            gate: { errorRatePercent: 5 },
            sampleInterval: intervalMs,
            steps: [{ weight: 30, window: '10m' }, { weight: 100, window: '1m' }],
          },
        ],
      });
      await waitFor('first sample of step 1', async () => ((await handle.query<RolloutStatus>('status')).window?.samplesTaken ?? 0) >= 1, 60_000, 50);
      // Let the fault land at a random point within a sample interval, as a real one would.
      await new Promise((r) => setTimeout(r, Math.random() * intervalMs));
      const t0 = performance.now();
      await green.setStatus(500);
      await waitFor('HAProxy weight 0 for green', async () => ((await api('get weight app/green')).startsWith('0 ') ? true : undefined), 60_000, 10);
      const seconds = (performance.now() - t0) / 1000;
      times.push(seconds);
      await handle.result().catch(() => undefined);
      console.log(`run ${i}: ${seconds.toFixed(2)} s from first HTTP 500 to HAProxy weight 0 (30 % step, sample interval ${intervalMs / 1000} s)`);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    console.log(`command: npm run bench -- rollback ${runs}`);
    console.log(`min ${sorted[0].toFixed(2)} s, max ${sorted[sorted.length - 1].toFixed(2)} s over ${runs} runs`);
    console.log(`rollback: ${median.toFixed(2)} s (target ${(intervalMs + 1000) / 1000} s)`);
  } finally {
    await stack.stop();
    await haproxy?.stop();
  }
}

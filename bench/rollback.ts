import { Stack } from '../test/helpers/stack';
import { waitFor } from '../test/helpers/ports';
import { blueGreenBehindHaproxy, type Haproxy } from '../test/helpers/haproxy';
import { runtimeApiCommand } from '../src/activities/systems/load-balancer/haproxy-runtime-api';
import { loadAverage } from './load';
import { statusQuery } from '../src/workflows/rollout/messages';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Time to rollback: from the moment the new backend starts failing (HTTP 500) to the moment
 * HAProxy's Runtime API reads weight 0 for it, on the dev server with a real HAProxy and an HTTP
 * probe through it; first at a 1 s sample interval, then at the default 60 s one (where the watch
 * of the interval ends as soon as the failure is conclusive). Targets: 0.5 s and 3 s medians.
 *
 *   npm run bench -- rollback [runs=5]
 */
export async function main(args: string[]) {
  const runs = Math.max(5, Number(args[0] ?? 5) || 5);
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
      metricSources: {
        'through-lb': {
          type: 'probe',
          url: `${haproxy.url}/`,
          requests: 20,
          minRequests: 10,
          concurrency: 4,
          timeoutMs: 3000,
        },
      },
    });
    /** One series of runs at a sample interval (undefined: the input's default, 60 s). */
    const series = async (label: string, intervalMs: number | undefined, faultWithinMs: number) => {
      const times: number[] = [];
      for (let i = 1; i <= runs; i++) {
        await green.setStatus(200);
        await api('set server app/blue weight 100');
        await api('set server app/green weight 0');
        const handle = await stack.client.workflow.start('phasedRolloutWorkflow', {
          taskQueue: 'opsflow',
          workflowId: `rollout-bench-${label}-${i}`,
          args: [
            {
              service: `bench-${label}-${i}`,
              lb: 'edge',
              backends: { old: 'blue', new: 'green' },
              metricSources: ['through-lb'],
              gate: { errorRatePercent: 5 },
              ...(intervalMs ? { sampleInterval: intervalMs } : {}),
              steps: [
                { weight: 30, window: '10m' },
                { weight: 100, window: '10m' },
              ],
            },
          ],
        });
        await waitFor(
          'step 1 watched',
          async () =>
            (await handle.query(statusQuery)).state === 'monitoring' &&
            (await api('get weight app/green')).startsWith('30 '),
          60_000,
          50,
        );
        // Let the fault land at a random point, as a real one would.
        await new Promise((r) => setTimeout(r, Math.random() * faultWithinMs));
        const t0 = performance.now();
        await green.setStatus(500);
        await waitFor(
          'HAProxy weight 0 for green',
          async () => ((await api('get weight app/green')).startsWith('0 ') ? true : undefined),
          180_000,
          10,
        );
        const seconds = (performance.now() - t0) / 1000;
        times.push(seconds);
        await handle.result().catch(() => undefined);
        console.log(
          `${label} run ${i}: ${seconds.toFixed(2)} s from first HTTP 500 to HAProxy weight 0 (30 % step, load ${loadAverage()})`,
        );
      }
      const s = [...times].sort((a, b) => a - b);
      console.log(`${label}: min ${s[0].toFixed(2)} s, max ${s[s.length - 1].toFixed(2)} s over ${runs} runs`);
      return median(times);
    };
    const fast = await series('interval-1s', 1000, 1000);
    const byDefault = await series('interval-default', undefined, 5000);
    console.log(`command: npm run bench -- rollback ${runs}`);
    console.log(
      `rollback-default: ${byDefault.toFixed(2)} s (median at the default 60 s interval; target 3 s; load ${loadAverage()})`,
    );
    console.log(`rollback: ${fast.toFixed(2)} s (median at a 1 s interval; target 0.5 s; load ${loadAverage()})`);
  } finally {
    await stack.stop();
    await haproxy?.stop();
  }
}

import { WorkflowFailedError } from '@temporalio/client';
import { Stack } from '../helpers/stack';
import { waitFor } from '../helpers/ports';
import { recordHistory } from '../helpers/histories';
import { blueGreenBehindHaproxy, type Haproxy, type startBackend } from '../helpers/haproxy';
import { runtimeApiCommand } from '../../src/activities/systems/load-balancer/haproxy-runtime-api';
import { statusQuery } from '../../src/workflows/rollout/messages';

/**
 * At the default 60 s sample interval, a new backend that starts failing is rolled back as soon as
 * the probe's evidence is conclusive, not at the end of the interval: behind a real HAProxy, on
 * the dev server.
 */
describe('rollback within the interval at the default 60 s (real HAProxy, dev server)', () => {
  let stack: Stack;
  let haproxy: Haproxy;
  let green: Awaited<ReturnType<typeof startBackend>>;
  const api = (cmd: string) => runtimeApiCommand({ socket: haproxy.socket }, cmd, 5000);
  const greenWeight = async () => Number((await api('get weight app/green')).split(' ')[0]);

  beforeAll(async () => {
    stack = await Stack.start();
    ({ green, haproxy } = await blueGreenBehindHaproxy(stack.processes));
    await stack.startWorker({
      loadBalancers: { edge: { type: 'haproxy', runtimeApi: { socket: haproxy.socket }, backend: 'app' } },
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
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await haproxy?.stop();
  });

  test('a backend failing mid-interval is at HAProxy weight 0 long before the 60 s interval ends', async () => {
    const handle = await stack.client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'rollout-orders',
      args: [
        {
          service: 'orders',
          lb: 'edge',
          backends: { old: 'blue', new: 'green' },
          metricSources: ['through-lb'],
          gate: { errorRatePercent: 5 },
          steps: [
            { weight: 30, window: '10m' },
            { weight: 100, window: '10m' },
          ],
        },
      ],
    });
    const status = () => handle.query(statusQuery);
    await waitFor(
      'step 1 at 30 % and watching',
      async () => (await status()).state === 'monitoring' && (await greenWeight()) === 30,
      60_000,
    );
    // The window's first interval is under way (healthy so far); then the new backend breaks.
    expect((await status()).window).toMatchObject({ samplesTaken: 0, intervalMs: 60_000 });
    await green.setStatus(500);
    // Bounded well under the 60 s interval, with a margin for a busy machine: the watch's early end
    // is the only way the weight can reach 0 before the first sample at 60 s.
    await waitFor('HAProxy weight 0 for green', async () => (await greenWeight()) === 0, 30_000, 100);
    const err = await handle.result().then(
      () => undefined,
      (e) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause?.message).toMatch(
      /rolled back at step 1\/2 \(30 %\): errorRatePercent \d+(\.\d+)? % > 5 % \(through-lb\)/,
    );
    const s = await status();
    expect(s.state).toBe('rolled-back');
    expect(s.lastSamples).toHaveLength(1);
    expect(s.decisions.map((d) => d.decision)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /sample 1\/10 ended early: through-lb: errorRatePercent \d+(\.\d+)? > 5 over the last \d+ requests, conclusive at 0\.9999 confidence/,
        ),
      ]),
    );
    recordHistory(stack.temporalAddress(), 'rollout-orders', 'phased-rollout-haproxy-early-rollback');
  }, 120_000);
});

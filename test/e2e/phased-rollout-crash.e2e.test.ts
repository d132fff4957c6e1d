import { Stack, writeConfig, killWorker } from '../helpers/stack';
import { waitFor } from '../helpers/ports';
import { blueGreenBehindHaproxy, type Haproxy } from '../helpers/haproxy';
import { runtimeApiCommand } from '../../src/activities/systems/load-balancer/haproxy-runtime-api';
import { approveSignal, statusQuery } from '../../src/workflows/rollout/messages';

/**
 * The worker process is SIGKILLed mid-window and while the rollout waits for approval, and the
 * Temporal server is killed -9 and restarted on its SQLite file during that wait: the rollout
 * continues in the same step with the same weights, an approve sent while no worker runs is kept,
 * and the run finishes with one weight change per step.
 */
describe('phased rollout survives worker SIGKILL (dev server, real HAProxy)', () => {
  let stack: Stack;
  let haproxy: Haproxy;
  let configPath: string;
  const api = (cmd: string) => runtimeApiCommand({ socket: haproxy.socket }, cmd, 5000);
  const greenWeight = async () => Number((await api('get weight app/green')).split(' ')[0]);

  beforeAll(async () => {
    stack = await Stack.start({ persistent: true });
    ({ haproxy } = await blueGreenBehindHaproxy(stack.processes));
    configPath = writeConfig({
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

  const startWorker = () => stack.spawnWorkerProcess(configPath);

  test('SIGKILL mid-window, and again while awaiting approval: same step, same weights, approval kept, finished', async () => {
    const status = () => stack.client.workflow.getHandle('rollout-orders').query(statusQuery);
    let worker = startWorker();
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
          sampleInterval: '1s',
          steps: [
            { weight: 20, window: '12s' },
            { weight: 100, window: '2s', approval: true },
          ],
        },
      ],
    });
    await waitFor('3 samples of step 1', async () => ((await status()).window?.samplesTaken ?? 0) >= 3, 120_000, 250);
    const beforeKill = await status();
    await killWorker(worker.child);
    expect(beforeKill.step).toBe(1);
    expect(await greenWeight()).toBe(20);

    worker = startWorker();
    await waitFor('step 2 awaiting approval', async () => (await status()).awaitingApproval === 2, 120_000, 250);
    const after = await status();
    expect(after.window).toBeUndefined();
    const shifts = after.decisions.filter((d) => /reads back \d+ % for green/.test(d.decision));
    expect(shifts.map((d) => d.decision)).toEqual([expect.stringMatching(/reads back 20 % for green/)]); // step 1 was not redone
    expect(after.decisions.map((d) => d.decision)).toEqual(
      expect.arrayContaining([expect.stringMatching(/step 1\/2 \(20 %\) passed: \d+ samples/)]),
    );
    expect(await greenWeight()).toBe(20);

    // The approval is sent while no worker runs, after Temporal itself was killed: it is in the history, so it is not lost.
    await killWorker(worker.child);
    await stack.restartServer();
    await handle.signal(approveSignal, { by: 'night-shift' });
    worker = startWorker();
    const result = await handle.result();
    expect(result.outcome).toBe('succeeded');
    expect(await greenWeight()).toBe(100);
    const final = await handle.query(statusQuery);
    expect(final.decisions.map((d) => d.decision).filter((d) => /reads back \d+ % for green/.test(d))).toEqual([
      expect.stringMatching(/reads back 20 % for green/),
      expect.stringMatching(/reads back 100 % for green/),
    ]);
    await killWorker(worker.child);
  });
});

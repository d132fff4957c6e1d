import { readFileSync } from 'node:fs';
import { Stack } from '../helpers/stack';
import { waitFor } from '../helpers/ports';
import { HttpReceiver } from '../helpers/http-receiver';
import { startBackend } from '../helpers/haproxy';
import { Nginx, settledSplit } from '../helpers/nginx';
import { approveSignal, statusQuery } from '../../src/workflows/rollout/messages';

/**
 * The whole rollout through a real nginx (the README's second LB): the workflow rewrites the
 * upstream include, `nginx -t`, reloads; the split is measured through nginx at every step, the old
 * side included, and the old server is `down` at the end.
 */
describe('phased rollout through a real nginx (dev server)', () => {
  let stack: Stack;
  let nginx: Nginx;
  let receiver: HttpReceiver;
  let servers: Record<string, string>;

  beforeAll(async () => {
    stack = await Stack.start();
    const blue = await startBackend(stack.processes, 'blue');
    const green = await startBackend(stack.processes, 'green');
    servers = { blue: `127.0.0.1:${blue.port}`, green: `127.0.0.1:${green.port}` };
    nginx = await new Nginx(
      stack.processes,
      `server ${servers.blue} weight=100;\nserver ${servers.green} weight=1 down;\n`,
    ).start();
    receiver = await new HttpReceiver({ honourKey: true }).start();
    await stack.startWorker({
      loadBalancers: { web: nginx.lbConfig(servers) },
      metricSources: {
        'through-nginx': {
          type: 'probe',
          url: `${nginx.url}/`,
          requests: 40,
          minRequests: 20,
          concurrency: 4,
          timeoutMs: 3000,
        },
      },
      notifiers: { ops: { type: 'webhook', url: `${receiver.url}/hook` } },
    });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await nginx?.stop();
    await receiver?.stop();
  });

  test('10 % → 30 % → 100 %, approved step by step: the split measured through nginx at each step, the old side answering the rest; old down at the end', async () => {
    const status = () => stack.client.workflow.getHandle('rollout-web-shop').query(statusQuery);
    const handle = await stack.client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'rollout-web-shop',
      args: [
        {
          service: 'web-shop',
          lb: 'web',
          backends: { old: 'blue', new: 'green' },
          metricSources: ['through-nginx'],
          gate: { errorRatePercent: 5 },
          sampleInterval: '1s',
          requireApproval: true,
          notify: ['ops'],
          steps: [
            { weight: 10, window: '2s' },
            { weight: 30, window: '2s' },
            { weight: 100, window: '2s' },
          ],
        },
      ],
    });
    await waitFor('approval wait of step 1', async () => (await status()).awaitingApproval === 1, 60_000);
    const untouched = await settledSplit(nginx.url, 'blue', 'green', 0, 0, 200);
    expect(untouched.counts.blue).toBe(200); // nothing moves before approval
    for (const [step, percent, tolerance] of [
      [1, 10, 4],
      [2, 30, 5],
    ] as const) {
      await handle.signal(approveSignal, { by: 'test' });
      // The next approval wait means this step's window passed; the split is held meanwhile.
      await waitFor(`step ${step} window passed`, async () => (await status()).awaitingApproval === step + 1, 60_000);
      const s = await status();
      expect(s.weights).toMatchObject({
        newPercent: percent,
        weights: { blue: 100 - percent, green: percent },
        states: { blue: 'ready', green: 'ready' },
      });
      expect(readFileSync(nginx.upstreamFile, 'utf8')).toMatch(
        new RegExp(`server ${servers.blue} weight=${100 - percent}; # blue`),
      );
      const m = await settledSplit(nginx.url, 'blue', 'green', percent, tolerance);
      expect(m.errors).toBe(0);
      expect(Math.abs(m.percent('green') - percent)).toBeLessThanOrEqual(tolerance);
      expect(Math.abs(m.percent('blue') - (100 - percent))).toBeLessThanOrEqual(tolerance);
      expect((m.counts.blue ?? 0) + (m.counts.green ?? 0)).toBe(1000); // no 502 from an empty upstream
    }
    await handle.signal(approveSignal, { by: 'test' });
    const result = await handle.result();
    expect(result.outcome).toBe('succeeded');
    expect(result.finalSplit).toMatchObject({ newPercent: 100, weights: { blue: 0, green: 100 } });
    const m = await settledSplit(nginx.url, 'blue', 'green', 100, 0);
    expect(m.errors).toBe(0);
    expect(m.counts.green).toBe(1000);
    // cleanup drain: nginx OSS has no drain, the old member is `down`
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toMatch(
      new RegExp(`server ${servers.blue} weight=1 down; # blue`),
    );
    const s = await status();
    expect(s.state).toBe('succeeded');
    expect(s.decisions.map((d) => d.decision)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/step 3\/3 \(100 %\) passed/),
        expect.stringMatching(/clean-up: blue reads back drain on web/),
      ]),
    );
    expect(receiver.requests.find((r) => r.json?.details?.service === 'web-shop')?.json.title).toMatch(
      /succeeded: 100 % on green/,
    );
  });
});

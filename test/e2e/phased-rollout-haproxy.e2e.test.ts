import { WorkflowFailedError } from '@temporalio/client';
import { Stack } from '../helpers/stack';
import { waitFor } from '../helpers/ports';
import { HttpReceiver } from '../helpers/http-receiver';
import { recordHistory } from '../helpers/histories';
import { blueGreenBehindHaproxy, measureSplit, type Haproxy, type startBackend } from '../helpers/haproxy';
import { runtimeApiCommand } from '../../src/activities/systems/load-balancer/haproxy-runtime-api';
import {
  abortSignal,
  approveSignal,
  pauseSignal,
  promoteSignal,
  resumeSignal,
  statusQuery,
} from '../../src/workflows/rollout/messages';

/**
 * The whole rollout on the dev server against a real HAProxy in front of two real backends: the
 * split measured through HAProxy at every step, a failing new backend rolled back, abort, pause,
 * approvals, and the CLI as the front door.
 */
describe('phased rollout behind a real HAProxy (dev server)', () => {
  let stack: Stack;
  let haproxy: Haproxy;
  let receiver: HttpReceiver;
  let green: Awaited<ReturnType<typeof startBackend>>;
  const api = (cmd: string) => runtimeApiCommand({ socket: haproxy.socket }, cmd, 5000);
  const greenWeight = async () => Number((await api('get weight app/green')).split(' ')[0]);
  const blueWeight = async () => Number((await api('get weight app/blue')).split(' ')[0]);
  /** srv_admin_state of a server in backend app: 0 ready, a 0x01 bit maint, 0x08/0x10 drain. */
  const adminState = async (name: string) => {
    const row = (await api('show servers state app')).split('\n').find((l) => l.split(' ')[3] === name)!;
    return Number(row.split(' ')[6]);
  };

  beforeAll(async () => {
    stack = await Stack.start();
    ({ green, haproxy } = await blueGreenBehindHaproxy(stack.processes));
    receiver = await new HttpReceiver({ honourKey: true }).start();
    await stack.startWorker({
      loadBalancers: { edge: { type: 'haproxy', runtimeApi: { socket: haproxy.socket }, backend: 'app' } },
      metricSources: {
        'through-lb': {
          type: 'probe',
          url: `${haproxy.url}/`,
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
    await haproxy?.stop();
    await receiver?.stop();
  });

  beforeEach(async () => {
    await green.setStatus(200);
    for (const cmd of [
      'set server app/blue weight 100',
      'set server app/green weight 0',
      'set server app/blue state ready',
      'set server app/green state ready',
    ])
      await api(cmd);
  });

  const base = (service: string, extra: Record<string, unknown> = {}) => ({
    service,
    lb: 'edge',
    backends: { old: 'blue', new: 'green' },
    metricSources: ['through-lb'],
    gate: { errorRatePercent: 5 },
    sampleInterval: '1s',
    notify: ['ops'],
    ...extra,
  });
  const status = (id: string) => stack.client.workflow.getHandle(id).query(statusQuery);

  /**
   * Waits, with a bound, until HAProxy holds the given weights. A rollback or abort that leaves the
   * LB wrong fails here saying what HAProxy holds, before anything awaits the workflow's result
   * (which would only time out).
   */
  const lbHolds = async (want: { blue: number; green: number }, what: string, timeoutMs = 60_000) => {
    let seen = 'nothing read';
    try {
      await waitFor(
        what,
        async () => {
          const [b, g] = [await blueWeight(), await greenWeight()];
          seen = `blue ${b}, green ${g}`;
          return b === want.blue && g === want.green;
        },
        timeoutMs,
      );
    } catch {
      throw new Error(
        `${what}: HAProxy should hold blue ${want.blue}, green ${want.green} within ${timeoutMs} ms, and holds ${seen}`,
      );
    }
  };
  /** The workflow's own account, bounded too, before its result is awaited. */
  const reachesState = (id: string, state: string, timeoutMs = 60_000) =>
    waitFor(`${id} in state ${state}`, async () => (await status(id)).state === state, timeoutMs).catch(async (err) => {
      throw new Error(
        `${(err as Error).message}; status says ${JSON.stringify(
          await status(id).then(
            (s) => ({ state: s.state, step: s.step }),
            (e) => String(e),
          ),
        )}`,
      );
    });

  test('healthy rollout through the CLI: approved step by step, split measured at 10 %, 30 %, 100 %; old drained at the end', async () => {
    const input = base('shop', {
      requireApproval: true,
      steps: [
        { weight: 10, window: '3s', targetUsers: ['internal'] },
        { weight: 30, window: '3s' },
        { weight: 100, window: '3s' },
      ],
    });
    const started = await stack.cli(['start', 'phased-rollout', '--input', JSON.stringify(input)]);
    expect(started.stderr).toBe('');
    expect(started.stdout).toMatch(/started phasedRolloutWorkflow rollout-shop/);
    const handle = stack.client.workflow.getHandle('rollout-shop');

    // A second rollout of the same service is refused while this one runs.
    const second = await stack.cli(['start', 'phased-rollout', '--input', JSON.stringify(input)]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/rollout-shop is already running/);

    await waitFor('approval wait of step 1', async () => (await status('rollout-shop')).awaitingApproval === 1, 30_000);
    expect(await greenWeight()).toBe(0); // nothing moves before approval
    for (const [step, percent, tolerance] of [
      [1, 10, 4],
      [2, 30, 5],
    ] as const) {
      await handle.signal(approveSignal, { by: 'test' });
      // The next approval wait means this step's window passed; the split is held meanwhile.
      await waitFor(
        `step ${step} window passed`,
        async () => (await status('rollout-shop')).awaitingApproval === step + 1,
        60_000,
      );
      expect(await greenWeight()).toBe(percent);
      expect(await blueWeight()).toBe(100 - percent);
      expect(await adminState('blue')).toBe(0);
      const m = await measureSplit(haproxy.url, 1000);
      expect(m.errors).toBe(0);
      expect(Math.abs(m.percent('green') - percent)).toBeLessThanOrEqual(tolerance);
      // The old side answers the rest, and nothing else answers (no 503 from an empty backend).
      expect(Math.abs(m.percent('blue') - (100 - percent))).toBeLessThanOrEqual(tolerance);
      expect((m.counts.blue ?? 0) + (m.counts.green ?? 0)).toBe(1000);
    }
    await handle.signal(approveSignal, { by: 'test' });
    const result = await handle.result();
    expect(result.outcome).toBe('succeeded');
    expect(result.finalSplit).toMatchObject({ newPercent: 100, weights: { blue: 0, green: 100 } });
    expect(await greenWeight()).toBe(100);
    const m = await measureSplit(haproxy.url, 1000);
    expect(m.percent('green')).toBe(100);
    expect(await api('show servers state app')).toMatch(/ blue \S+ \d+ (8|16|24) /); // srv_admin_state: drain
    const s = await status('rollout-shop');
    expect(s.state).toBe('succeeded');
    expect(s.decisions.map((d) => d.decision)).toEqual(
      expect.arrayContaining([expect.stringMatching(/haproxy cannot route by cohort/)]),
    );
    recordHistory(stack.temporalAddress(), 'rollout-shop', 'phased-rollout-haproxy-approved');
    const golive = receiver.requests.find((r) => r.json?.details?.service === 'shop');
    expect(golive?.json.title).toMatch(/succeeded: 100 % on green/);
  });

  test('the new backend fails during step 2: rolled back at the first failed sample, HAProxy reads 0, the receiver names metric and value', async () => {
    const handle = await stack.client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'rollout-cart',
      args: [
        base('cart', {
          steps: [
            { weight: 10, window: '2s' },
            { weight: 30, window: '60s' },
            { weight: 100, window: '2s' },
          ],
        }),
      ],
    });
    await waitFor(
      'step 2 monitoring',
      async () => {
        const s = await status('rollout-cart');
        return s.step === 2 && s.state === 'monitoring' && (s.window?.samplesTaken ?? 0) >= 1;
      },
      60_000,
    );
    expect(await greenWeight()).toBe(30);
    await green.setStatus(500);
    await lbHolds({ blue: 100, green: 0 }, 'rollback after the new backend fails');
    await reachesState('rollout-cart', 'rolled-back');
    const err = await handle.result().catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause.message).toMatch(
      /rollout of cart rolled back at step 2\/3 \(30 %\): errorRatePercent [\d.]+ % > 5 % \(through-lb\)/,
    );
    expect(await greenWeight()).toBe(0);
    // Rolled back means the old side serves everything again, not only that green gets nothing.
    expect(await blueWeight()).toBe(100);
    expect(await adminState('blue')).toBe(0);
    const m = await measureSplit(haproxy.url, 300);
    expect(m.errors).toBe(0);
    expect(m.counts.green ?? 0).toBe(0);
    expect(m.counts.blue).toBe(300);
    const s = await status('rollout-cart');
    expect(s.state).toBe('rolled-back');
    expect(s.weights).toMatchObject({ newPercent: 0, weights: { blue: 100, green: 0 }, states: { blue: 'ready' } });
    expect(s.counters.totalFailures).toBe(1); // the first sample after the fault rolled it back
    recordHistory(stack.temporalAddress(), 'rollout-cart', 'phased-rollout-haproxy-rolled-back');
    const msg = receiver.requests.find((r) => r.json?.details?.service === 'cart');
    expect(msg?.json).toMatchObject({
      severity: 'critical',
      details: { metric: 'errorRatePercent', step: 2, source: 'through-lb' },
    });
    expect(msg!.json.details.value).toBeGreaterThan(5);
    expect(msg!.json.text).toMatch(/errorRatePercent [\d.]+ % > 5 %/);
    expect(msg!.json.text).toMatch(/reads back 0 % for green/);
  });

  test('pause holds the weights past the window; abort then rolls back', async () => {
    const handle = await stack.client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'rollout-search',
      args: [
        base('search', {
          steps: [
            { weight: 50, window: '5s' },
            { weight: 100, window: '3s' },
          ],
        }),
      ],
    });
    await waitFor('step 1 monitoring', async () => (await status('rollout-search')).state === 'monitoring', 60_000);
    await handle.signal(pauseSignal, { reason: 'looking at dashboards' });
    // Well past the 5-sample window: still step 1, still 50 %, still sampling.
    await waitFor(
      '8 samples while paused',
      async () => ((await status('rollout-search')).window?.samplesTaken ?? 0) >= 8,
      60_000,
    );
    const held = await status('rollout-search');
    expect(held.step).toBe(1);
    expect(held.paused).toBe(true);
    expect(await greenWeight()).toBe(50);
    await handle.signal(abortSignal, { reason: 'not today', by: 'ops-lead' });
    await lbHolds({ blue: 100, green: 0 }, 'rollback after abort');
    await reachesState('rollout-search', 'aborted');
    const err = await handle.result().catch((e) => e);
    expect(err.cause.message).toBe('rollout of search aborted by ops-lead at step 1/2 (50 %): not today');
    expect(await greenWeight()).toBe(0);
    expect((await status('rollout-search')).state).toBe('aborted');
    recordHistory(stack.temporalAddress(), 'rollout-search', 'phased-rollout-haproxy-paused-aborted');
  });

  test('a cancelled rollout rolls back, and `opsflow result` says so with what HAProxy read back', async () => {
    const started = await stack.cli([
      'start',
      'phased-rollout',
      '--input',
      JSON.stringify(
        base('basket', {
          steps: [
            { weight: 50, window: '10m' },
            { weight: 100, window: '3s' },
          ],
        }),
      ),
    ]);
    expect(started.stderr).toBe('');
    await waitFor('step 1 monitoring', async () => (await status('rollout-basket')).state === 'monitoring', 60_000);
    expect(await greenWeight()).toBe(50);
    await stack.client.workflow.getHandle('rollout-basket').cancel();
    // The LB first: a rollback that never happens fails here, saying so, not as a timeout.
    await waitFor('HAProxy reads 0 for green', async () => (await greenWeight()) === 0, 60_000);
    const result = await stack.cli(['result', 'rollout-basket']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'opsflow: workflow rollout-basket: rollout of basket cancelled at step 1/2 (50 %); rolled back: LB edge reads 0 % green\n',
    );
    expect(await status('rollout-basket')).toMatchObject({
      state: 'cancelled',
      failure: 'rollout of basket cancelled at step 1/2 (50 %); rolled back: LB edge reads 0 % green',
    });
    recordHistory(stack.temporalAddress(), 'rollout-basket', 'phased-rollout-haproxy-cancelled');
  });

  test('pause holds the window; resume continues the rollout to completion', async () => {
    const handle = await stack.client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'rollout-profile',
      args: [
        base('profile', {
          cleanup: 'none',
          steps: [
            { weight: 30, window: '3s' },
            { weight: 100, window: '2s' },
          ],
        }),
      ],
    });
    await waitFor('step 1 monitoring', async () => (await status('rollout-profile')).state === 'monitoring', 60_000);
    await handle.signal(pauseSignal, { reason: 'checking dashboards', by: 'test' });
    // Twice the 3-sample window, and still step 1 at 30 %.
    await waitFor(
      '6 samples while paused',
      async () => ((await status('rollout-profile')).window?.samplesTaken ?? 0) >= 6,
      60_000,
    );
    const held = await status('rollout-profile');
    expect(held).toMatchObject({ step: 1, paused: true, state: 'monitoring' });
    expect(await greenWeight()).toBe(30);
    await handle.signal(resumeSignal, { by: 'test' });
    const result = await handle.result();
    expect(result.outcome).toBe('succeeded');
    expect(result.stepsCompleted).toBe(2);
    expect(await greenWeight()).toBe(100);
    expect((await measureSplit(haproxy.url, 200)).counts.green).toBe(200);
    const decisions = result.decisions.map((d: { decision: string }) => d.decision);
    expect(decisions).toEqual(
      expect.arrayContaining([
        'paused by test: checking dashboards',
        'resumed by test',
        expect.stringMatching(/step 1\/2 \(30 %\) passed: ([6-9]|\d\d) samples, latest pass/),
        expect.stringMatching(/step 2\/2 \(100 %\) passed/),
      ]),
    );
    expect(decisions.indexOf('resumed by test')).toBeLessThan(
      decisions.findIndex((d: string) => /step 1\/2 \(30 %\) passed/.test(d)),
    );
  });

  test('cleanup "maint": the old server is left in MAINT on the real HAProxy, and no request reaches it', async () => {
    const result = await stack.client.workflow.execute('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'rollout-billing',
      args: [
        base('billing', {
          cleanup: 'maint',
          steps: [
            { weight: 50, window: '2s' },
            { weight: 100, window: '2s' },
          ],
        }),
      ],
    });
    expect(result).toMatchObject({ outcome: 'succeeded', cleanup: 'maint', oldBackend: 'blue' });
    expect(result.decisions.map((d: { decision: string }) => d.decision)).toEqual(
      expect.arrayContaining(['clean-up: blue reads back maint on edge']),
    );
    expect((await adminState('blue')) & 0x01).toBe(0x01); // SRV_ADMF_FMAINT: forced maintenance
    expect(await adminState('green')).toBe(0);
    const m = await measureSplit(haproxy.url, 200);
    expect(m.errors).toBe(0);
    expect(m.counts.green).toBe(200);
    expect(m.counts.blue ?? 0).toBe(0);
  });

  test('promote skips the rest of the window once the latest sample passes', async () => {
    const handle = await stack.client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'rollout-promo',
      args: [
        base('promo', {
          cleanup: 'none',
          steps: [
            { weight: 20, window: '10m' },
            { weight: 100, window: '2s' },
          ],
        }),
      ],
    });
    await waitFor('step 1 monitoring', async () => (await status('rollout-promo')).state === 'monitoring', 60_000);
    await handle.signal(promoteSignal, { by: 'test' });
    const result = await handle.result();
    expect(result.outcome).toBe('succeeded');
    expect(result.decisions.map((d: { decision: string }) => d.decision)).toEqual(
      expect.arrayContaining([expect.stringMatching(/promoted at sample 1\/600: latest sample passed/)]),
    );
    expect(await api('show servers state app')).toMatch(/ blue \S+ \d+ 0 /); // cleanup none: blue stays ready
  });

  test('dry run through the CLI: samples the real metrics, lists every action, HAProxy untouched', async () => {
    await api('set server app/green weight 0');
    const out = await stack.cli([
      'start',
      'phased-rollout',
      '--wait',
      '--input',
      JSON.stringify(base('dry', { dryRun: true })),
    ]);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/started phasedRolloutWorkflow rollout-dry-dry-run-/);
    expect(out.stdout).toMatch(/would set edge: green 10 % \/ blue 90 %/);
    expect(out.stdout).toMatch(/metrics now: pass → would continue/);
    expect(out.stdout).toMatch(/would set blue to drain on edge/);
    expect(await greenWeight()).toBe(0);
    expect(await api('show servers state app')).toMatch(/ blue \S+ \d+ 0 /);
  });

  test('bad input: unknown LB, unknown server, a gate metric without a source, no source at all: refused by name, HAProxy untouched', async () => {
    await api('set server app/green weight 7');
    const unknownLb = await stack.client.workflow
      .execute('phasedRolloutWorkflow', {
        taskQueue: 'opsflow',
        workflowId: 'rollout-x1',
        args: [{ ...base('x1'), lb: 'nowhere' }],
      })
      .catch((e) => e);
    expect(unknownLb.cause.message).toMatch(/lb: unknown load balancer "nowhere"/);
    const unknownServer = await stack.client.workflow
      .execute('phasedRolloutWorkflow', {
        taskQueue: 'opsflow',
        workflowId: 'rollout-x2',
        args: [{ ...base('x2'), backends: { old: 'blue', new: 'purple' } }],
      })
      .catch((e) => e);
    expect(unknownServer.cause.message).toMatch(/server "purple" in HAProxy backend "app"/);
    const gateWithoutSource = await stack.client.workflow
      .execute('phasedRolloutWorkflow', {
        taskQueue: 'opsflow',
        workflowId: 'rollout-x4',
        args: [{ ...base('x4'), gate: { errorRatePercent: 5, cpuPercent: 80 } }],
      })
      .catch((e) => e);
    expect(gateWithoutSource.cause.message).toMatch(
      /gate\.cpuPercent: no metric source reports it \(metricSources through-lb report errorRatePercent/,
    );
    const noSource = await stack.cli([
      'start',
      'phased-rollout',
      '--input',
      JSON.stringify({ ...base('x3'), metricSources: [] }),
    ]);
    expect(noSource.code).toBe(2);
    expect(noSource.stderr).toMatch(/metricSources: a health gate needs at least one metric source/);
    expect(await greenWeight()).toBe(7);
  });
});

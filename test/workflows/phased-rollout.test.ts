import { Worker } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { waitFor } from '../helpers/ports';
import { phasedRolloutWorkflow } from '../../src/workflows';
import type { MetricReading, Sample } from '../../src/domain/gate/evaluate';
import type { Notification } from '../../src/domain/notification';
import type { RolloutPlan } from '../../src/domain/rollout/input';
import { OpsflowState } from '../../src/domain/search-attributes';
import {
  abortSignal,
  approveSignal,
  approveUpdate,
  pauseUpdate,
  resumeUpdate,
  statusQuery,
} from '../../src/workflows/rollout/messages';
import { recordHistory } from '../helpers/histories';

/**
 * The rollout's orchestration on the time-skipping server, runbooks §1's hour-long windows included,
 * with activities that act on an in-memory LB and report the metrics a scenario needs.
 */
describe('phasedRolloutWorkflow (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await timeSkippingEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  interface World {
    newPercent: number;
    splits: number[];
    targetUsers: (string[] | undefined)[];
    samples: number;
    states: string[];
    sent: Notification[];
    plans: number;
    /** When set, the clean-up fails with this non-retryable reason. */
    failCleanup?: string;
  }
  type Metrics = (w: World) => MetricReading[];
  const healthy: Metrics = () => [
    { metric: 'errorRatePercent', source: 'probe', value: 0.5 },
    { metric: 'responseTimeMs', source: 'probe', value: 120 },
  ];

  let seq = 0;
  async function start(
    input: Record<string, unknown>,
    metrics: Metrics = healthy,
    opts: {
      id?: string;
      splitError?: (newPercent: number) => Error | undefined;
      activities?: Record<string, (...args: any[]) => Promise<unknown>>;
    } = {},
  ) {
    const w: World = { newPercent: 0, splits: [], targetUsers: [], samples: 0, states: [], sent: [], plans: 0 };
    const taskQueue = `rollout-ts-${++seq}`;
    const service = (input.service as string) ?? `svc-${seq}`;
    const activities: Record<string, (...args: any[]) => Promise<unknown>> = {
      planRollout: async (): Promise<RolloutPlan> => {
        w.plans++;
        return {
          lbKind: 'http-api',
          supportsCohorts: true,
          gate: { errorRatePercent: 5, responseTimeMs: 3000 },
          providers: { errorRatePercent: ['probe'], responseTimeMs: ['probe'] },
          notes: [],
        };
      },
      setTrafficSplit: async (a: { newPercent: number; targetUsers?: string[]; old: string; new: string }) => {
        const err = opts.splitError?.(a.newPercent);
        if (err) {
          w.splits.push(-1); // an attempt that failed
          throw err;
        }
        w.newPercent = a.newPercent;
        w.splits.push(a.newPercent);
        w.targetUsers.push(a.targetUsers);
        return { newPercent: a.newPercent, weights: { [a.old]: 100 - a.newPercent, [a.new]: a.newPercent } };
      },
      setLoadBalancerServerState: async (a: { state: string; server: string }) => {
        if (w.failCleanup) throw ApplicationFailure.nonRetryable(w.failCleanup, 'StateNotApplied');
        w.states.push(`${a.server}:${a.state}`);
        return a.state;
      },
      sampleRolloutMetrics: async (): Promise<Sample> => {
        w.samples++;
        return { at: new Date().toISOString(), readings: metrics(w) };
      },
      notify: async (n: Notification) => {
        w.sent.push(n);
        return { notifier: n.notifier, status: 200 };
      },
      ...opts.activities,
    };
    // The watch of an interval, as one sample. It cannot wait the interval on the test server's
    // clock (time does not skip while an activity runs), so it takes a moment of real time instead.
    activities.watchRolloutMetrics ??= async (a: unknown) => {
      await new Promise((r) => setTimeout(r, 20));
      return activities.sampleRolloutMetrics(a);
    };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
    });
    const handle: WorkflowHandle<typeof phasedRolloutWorkflow> = await env.client.workflow.start(
      phasedRolloutWorkflow,
      {
        taskQueue,
        workflowId: opts.id ?? `rollout-${service}`,
        args: [
          {
            service,
            lb: 'edge',
            backends: { old: 'blue', new: 'green' },
            metricSources: ['probe'],
            notify: ['ops'],
            ...input,
          } as any,
        ],
      },
    );
    /**
     * Runs the worker until the workflow ends, then asks its final status (a query needs a worker).
     * `during` drives the run first (signals); time skips only while the result is awaited.
     */
    const finish = (during?: () => Promise<void>) =>
      worker.runUntil(async () => {
        await during?.();
        const out = await handle.result().then(
          (r) => ({ ok: true as const, r }),
          (e) => ({ ok: false as const, e }),
        );
        return { ...out, status: (await handle.query(statusQuery).catch(() => undefined))! };
      });
    return { w, handle, finish };
  }
  const status = (h: WorkflowHandle) => h.query(statusQuery);

  test('the runbooks defaults: 10 % (internal) for 30 min, 30 % for 60 min, 100 % for 120 min; then go-live and drain', async () => {
    // the runbooks' windows as they are; a sample every 10 min instead of every minute keeps the test quick.
    const { w, finish } = await start({ sampleInterval: '10m' });
    const out = await finish();
    if (!out.ok) throw out.e;
    expect(w.splits).toEqual([10, 30, 100]);
    expect(w.targetUsers).toEqual([['internal'], undefined, undefined]);
    expect(w.samples).toBe(3 + 6 + 12);
    expect(w.states).toEqual(['blue:drain']);
    expect(out.r.outcome).toBe('succeeded');
    expect(out.r.finalSplit?.newPercent).toBe(100);
    expect(w.sent.map((n) => [n.severity, n.title])).toEqual([
      ['info', expect.stringMatching(/succeeded: 100 % on green/)],
    ]);
    const s = out.status;
    expect(s.state).toBe('succeeded');
    expect(s.decisions.map((d) => d.decision)).toEqual(
      expect.arrayContaining([expect.stringMatching(/step 3\/3 \(100 %\) passed/)]),
    );
  });

  test('a failed gate in step 2 rolls back to 0 %, notifies the metric and value, and fails naming step, metric and value', async () => {
    const failAt30: Metrics = (w) => [
      { metric: 'errorRatePercent', source: 'probe', value: w.newPercent === 30 && w.samples > 5 ? 12.5 : 0.2 },
      { metric: 'responseTimeMs', source: 'probe', value: 100 },
    ];
    const { w, finish } = await start({ sampleInterval: '10m' }, failAt30);
    const out = await finish();
    expect(out.ok).toBe(false);
    const err = (out as { e: WorkflowFailedError }).e;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause?.message).toMatch(/rolled back at step 2\/3 \(30 %\): errorRatePercent 12\.5 % > 5 % \(probe\)/);
    expect(w.splits).toEqual([10, 30, 0]);
    expect(w.samples).toBe(6); // 3 in step 1, then rolled back on the first failed sample of step 2
    expect(w.states).toEqual([]);
    expect(w.sent).toHaveLength(1);
    expect(w.sent[0]).toMatchObject({
      severity: 'critical',
      notifier: 'ops',
      details: expect.objectContaining({ metric: 'errorRatePercent', value: 12.5, step: 2 }),
    });
    expect(w.sent[0].text).toMatch(/errorRatePercent 12\.5 %/);
  });

  test('a failure in the last step is an emergency rollback', async () => {
    const failAt100: Metrics = (w) => [
      { metric: 'errorRatePercent', source: 'probe', value: 0 },
      { metric: 'responseTimeMs', source: 'probe', value: w.newPercent === 100 ? 4000 : 100 },
    ];
    const { w, finish } = await start(
      {
        steps: [
          { weight: 50, window: '10m' },
          { weight: 100, window: '10m' },
        ],
      },
      failAt100,
    );
    const out = await finish();
    expect(out.ok).toBe(false);
    expect((out as any).e.cause.message).toMatch(
      /EMERGENCY rollback at step 2\/2 \(100 %\): responseTimeMs 4000 ms > 3000 ms/,
    );
    expect(w.splits).toEqual([50, 100, 0]);
    expect(w.sent[0].severity).toBe('emergency');
  });

  test('a rollback the LB keeps failing is retried for a bounded time, then notified as an emergency, left as rollback-failed, and the run fails saying so', async () => {
    const failAt30: Metrics = (w) => [
      { metric: 'errorRatePercent', source: 'probe', value: w.newPercent === 30 ? 40 : 0 },
      { metric: 'responseTimeMs', source: 'probe', value: 100 },
    ];
    const lbDown = (p: number) =>
      p === 0 ? new Error('LB API edge (http://lb): POST /api/config failed: connect ECONNREFUSED') : undefined;
    const { w, finish } = await start(
      {
        sampleInterval: '1m',
        steps: [
          { weight: 10, window: '1m' },
          { weight: 30, window: '10m' },
          { weight: 100, window: '1m' },
        ],
      },
      failAt30,
      { splitError: lbDown },
    );
    const out = await finish();
    expect(out.ok).toBe(false);
    expect(w.splits).toEqual([10, 30, ...Array(36).fill(-1)]); // bounded: 36 attempts, then it gives up
    const msg = (out as any).e.cause.message as string;
    expect(msg).toMatch(
      /^ROLLBACK FAILED: rollout of svc-\d+ could not roll back edge at step 2\/3 \(30 %\) \(gave up after retrying\): LB API edge .*ECONNREFUSED/,
    );
    expect(msg).toMatch(/Traffic may still be on green; it last read back 30 % for green/);
    expect(msg).toMatch(/Rolled back because: 1 failed sample\(s\) in a row: .*errorRatePercent 40 %/);
    expect((out as any).e.cause.type).toBe('RolloutRollbackFailed');
    expect(out.status.state).toBe('rollback-failed');
    expect(w.sent.map((n) => [n.severity, n.title])).toEqual([
      [
        'emergency',
        expect.stringMatching(/ROLLBACK FAILED: rollout of svc-\d+ at step 2\/3: traffic may still be on green/),
      ],
    ]);
    expect(w.sent[0].text).toBe(msg);
    expect(w.sent[0].details).toMatchObject({ lb: 'edge', step: 2, error: expect.stringMatching(/ECONNREFUSED/) });
  });

  test('failuresToRollback: 2 tolerates one bad sample', async () => {
    let n = 0;
    const oneBad: Metrics = () => [
      { metric: 'errorRatePercent', source: 'probe', value: ++n === 3 ? 50 : 0 },
      { metric: 'responseTimeMs', source: 'probe', value: 1 },
    ];
    const { w, finish } = await start({ failuresToRollback: 2, steps: [{ weight: 100, window: '10m' }] }, oneBad);
    const out = await finish();
    expect(out.ok).toBe(true);
    expect(w.splits).toEqual([100]);
  });

  test('inconclusive samples hold the rollout for a person; nobody comes, so it rolls back at the deadline', async () => {
    const blind: Metrics = () => [
      { metric: 'errorRatePercent', source: 'probe', inconclusive: 'empty result' },
      { metric: 'responseTimeMs', source: 'probe', value: 1 },
    ];
    const { w, finish } = await start(
      {
        inconclusive: { maxConsecutive: 3 },
        holdTimeout: '45m',
        steps: [
          { weight: 20, window: '1h' },
          { weight: 100, window: '1h' },
        ],
      },
      blind,
    );
    const out = await finish();
    expect(out.ok).toBe(false);
    expect((out as any).e.cause.message).toMatch(/held for 45m after 3 inconclusive samples in a row/);
    expect(w.samples).toBe(3);
    expect(w.splits).toEqual([20, 0]);
    expect(w.sent.map((n) => n.severity)).toEqual(['warning', 'critical']);
    expect(w.sent[0].title).toMatch(/held: metrics inconclusive/);
    expect(out.status.state).toBe('rolled-back');
  });

  test('a window never ends on an inconclusive sample: it samples on until a pass', async () => {
    let n = 0;
    const lateDoubt: Metrics = () => {
      n++;
      return [
        { metric: 'errorRatePercent', source: 'probe', ...(n === 5 ? { inconclusive: 'timeout' } : { value: 0 }) },
        { metric: 'responseTimeMs', source: 'probe', value: 1 },
      ];
    };
    const { w, finish } = await start({ steps: [{ weight: 100, window: '5m' }] }, lateDoubt);
    const out = await finish();
    expect(out.ok).toBe(true);
    expect(w.samples).toBe(6);
  });

  test('a sampling activity that keeps failing counts as inconclusive, never a pass', async () => {
    const broken: Metrics = () => {
      throw new Error('probe crashed');
    };
    const { w, finish } = await start(
      { inconclusive: { maxConsecutive: 2 }, holdTimeout: '10m', steps: [{ weight: 100, window: '5m' }] },
      broken,
    );
    const out = await finish();
    expect(out.ok).toBe(false);
    expect((out as any).e.cause.message).toMatch(
      /EMERGENCY rollback at step 1\/1 \(100 %\): held for 10m after 2 inconclusive samples/,
    );
    expect(w.splits).toEqual([100, 0]);
    expect(out.status.lastSamples.at(-1)?.summary).toMatch(/sampling failed: probe crashed/);
  });

  test('a long window continues as new with its state: same step, no second shift, every sample counted', async () => {
    const { w, finish } = await start({
      maxHistoryEvents: 150,
      steps: [
        { weight: 50, window: '30m' },
        { weight: 100, window: '10m' },
      ],
    });
    const out = await finish();
    if (!out.ok) throw out.e;
    expect(w.splits).toEqual([50, 100]);
    expect(w.plans).toBe(1);
    expect(w.samples).toBe(40);
    expect(out.r.decisions.map((d) => d.decision)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/continuing as new/),
        expect.stringMatching(/step 1\/2 \(50 %\) passed: 30 samples/),
      ]),
    );
  });

  describe('a gate from a baseline', () => {
    const description = 'gate from baseline of checkout taken 2026-11-20 14:00: errorRatePercent 10 %, p95Ms 1800 ms';
    /** Resolves the baseline's gate; asked again (it must not be), it would give a laxer one. */
    function baselineActivities() {
      const asked: unknown[] = [];
      const planned: unknown[] = [];
      const activities = {
        resolveBaselineGate: async (spec: unknown) => {
          asked.push(spec);
          const p95Ms = asked.length === 1 ? 1800 : 5000;
          return {
            gate: { errorRatePercent: 10, p95Ms },
            sources: { errorRatePercent: 'baseline http:app', p95Ms: 'baseline http:app' },
            baseline: {
              workflowId: 'baseline-checkout',
              runId: 'b1',
              takenAt: '2026-11-20T14:00:00.000Z',
              complete: true,
            },
            description:
              asked.length === 1
                ? description
                : `gate from baseline of checkout taken 2026-11-21 09:00: errorRatePercent 10 %, p95Ms ${p95Ms} ms`,
          };
        },
        planRollout: async (input: { gate?: Record<string, number> }): Promise<RolloutPlan> => {
          planned.push(input.gate);
          return {
            lbKind: 'haproxy',
            supportsCohorts: false,
            gate: input.gate!,
            providers: { errorRatePercent: ['probe'], p95Ms: ['probe'] },
            notes: [],
          };
        },
      };
      return { asked, planned, activities };
    }

    test('resolved once at the start, recorded, and kept across continue-as-new: a p95 under 3000 ms but over the baseline rolls back, naming it', async () => {
      const b = baselineActivities();
      // p95 1000 ms until the 36th sample (step 2, after the continue-as-new in step 1), then 2000 ms.
      const metrics: Metrics = (w) => [
        { metric: 'errorRatePercent', source: 'probe', value: 0.5 },
        { metric: 'p95Ms', source: 'probe', value: w.samples > 35 ? 2000 : 1000 },
      ];
      const { w, finish } = await start(
        {
          service: 'checkout',
          gate: { fromBaseline: 'checkout', maxAge: '2d' },
          maxHistoryEvents: 150,
          steps: [
            { weight: 50, window: '30m' },
            { weight: 100, window: '10m' },
          ],
        },
        metrics,
        { activities: b.activities },
      );
      const out = await finish();
      expect(out.ok).toBe(false);
      // Once, with the parsed spec; the continued run did not ask again (it would have got 5000 ms and passed).
      expect(b.asked).toEqual([
        {
          fromBaseline: 'checkout',
          maxAge: 2 * 86_400_000,
          acceptPartial: false,
          metrics: ['errorRatePercent', 'p95Ms'],
          overrides: {},
        },
      ]);
      expect(b.planned).toEqual([{ errorRatePercent: 10, p95Ms: 1800 }]);
      expect(w.samples).toBe(36);
      expect(w.splits).toEqual([50, 100, 0]);
      const cause = (out as { e: WorkflowFailedError }).e.cause!;
      expect(cause.message).toBe(
        `rollout of checkout EMERGENCY rollback at step 2/2 (100 %): p95Ms 2000 ms > 1800 ms (probe); ${description}`,
      );
      expect(out.status.gateFrom).toMatchObject({ gate: { errorRatePercent: 10, p95Ms: 1800 }, description });
      expect(out.status.plan!.gate).toEqual({ errorRatePercent: 10, p95Ms: 1800 });
      const decisions = out.status.decisions.map((d) => d.decision);
      expect(decisions).toEqual(
        expect.arrayContaining([
          description,
          expect.stringMatching(/continuing as new/),
          expect.stringMatching(/^plan: gate \{"errorRatePercent":10,"p95Ms":1800\}/),
        ]),
      );
    });

    test('no usable baseline fails the start saying so, and nothing moves', async () => {
      const b = baselineActivities();
      const { w, finish } = await start({ service: 'nobase', gate: { fromBaseline: 'nobase' } }, healthy, {
        activities: {
          ...b.activities,
          resolveBaselineGate: async () => {
            throw ApplicationFailure.nonRetryable(
              'gate from baseline: no complete baseline of nobase is stored (run `opsflow start baseline` first)',
              'BaselineGateUnavailable',
            );
          },
        },
      });
      const out = await finish();
      expect(out.ok).toBe(false);
      expect((out as { e: WorkflowFailedError }).e.cause!.message).toBe(
        'cannot roll out nobase, nothing was changed: gate from baseline: no complete baseline of nobase is stored (run `opsflow start baseline` first)',
      );
      expect(b.planned).toEqual([]);
      expect(w.splits).toEqual([]);
      expect(out.status.state).toBe('failed');
    });
  });

  test('dry run: evaluates the gates and lists every action, touching nothing', async () => {
    const { w, finish } = await start({ dryRun: true }, healthy, { id: `rollout-dry-${seq + 1}-x` });
    const out = await finish();
    if (!out.ok) throw out.e;
    expect(out.r.outcome).toBe('dry-run');
    expect(w.splits).toEqual([]);
    expect(w.states).toEqual([]);
    expect(w.sent).toEqual([]);
    expect(w.samples).toBe(3);
    expect(out.r.actions).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/would set edge: green 10 % \/ blue 90 % for internal/),
        expect.stringMatching(/would watch 30m: 30 samples every 1m/),
        expect.stringMatching(/would set edge: green 100 %/),
        expect.stringMatching(/would notify ops \(info\)/),
        expect.stringMatching(/would set blue to drain on edge/),
      ]),
    );
  });

  test('approval gates each step; abort while waiting rolls back', async () => {
    const { w, handle, finish } = await start({
      requireApproval: true,
      steps: [
        { weight: 10, window: '5m' },
        { weight: 50, window: '5m' },
        { weight: 100, window: '5m' },
      ],
    });
    const out = await finish(async () => {
      await waitFor('awaiting approval of step 1', async () => (await status(handle)).awaitingApproval === 1, 30_000);
      expect(w.splits).toEqual([]);
      await handle.signal(approveSignal, { by: 'alice' });
      // Nothing skips time while the test waits on a query: move the clock through step 1's window.
      await env.sleep('6m');
      await waitFor('awaiting approval of step 2', async () => (await status(handle)).awaitingApproval === 2, 60_000);
      expect(w.splits).toEqual([10]);
      await handle.signal(abortSignal, { reason: 'change freeze', by: 'bob' });
    });
    expect(out.ok).toBe(false);
    // One phrase: the abort's own words, not wrapped in a second "aborted at step 2/3 (50 %)".
    expect((out as any).e.cause.message).toMatch(
      /^rollout of svc-\d+ aborted by bob before step 2\/3 \(50 %\): change freeze$/,
    );
    expect(w.splits).toEqual([10, 0]);
    expect(w.sent[0].severity).toBe('warning');
  });

  test("a rollout paused while awaiting approval: status paused (by whom), OpsflowState 'paused', nothing shifted; resumed, the attribute reads awaiting-approval again and the run goes on", async () => {
    const { w, handle, finish } = await start({
      requireApproval: true,
      steps: [
        { weight: 10, window: '5m' },
        { weight: 100, window: '5m' },
      ],
    });
    const stateAttribute = async () => (await handle.describe()).typedSearchAttributes.get(OpsflowState);
    const seen: Record<string, unknown> = {};
    const out = await finish(async () => {
      await waitFor('awaiting approval of step 1', async () => (await status(handle)).awaitingApproval === 1, 30_000);
      seen.before = await stateAttribute();
      seen.pauseAnswer = await handle.executeUpdate(pauseUpdate, { args: [{ by: 'ann', reason: 'vendor call' }] });
      seen.pausedStatus = await handle.query(statusQuery);
      seen.pausedAttribute = await stateAttribute();
      seen.splitsWhilePaused = [...w.splits];
      seen.resumeAnswer = await handle.executeUpdate(resumeUpdate, { args: [{ by: 'bob' }] });
      seen.resumedAttribute = await stateAttribute();
      await handle.executeUpdate(approveUpdate, { args: [{ by: 'bob' }] });
      await env.sleep('6m');
      await waitFor('awaiting approval of step 2', async () => (await status(handle)).awaitingApproval === 2, 60_000);
      await handle.executeUpdate(approveUpdate, { args: [{ by: 'bob' }] });
    });
    if (!out.ok) throw out.e;
    recordHistory(env.address, handle.workflowId, 'phased-rollout-paused-resumed-awaiting-approval');

    expect(seen.before).toBe('awaiting-approval');
    expect(seen.pauseAnswer).toMatchObject({ state: 'awaiting-approval', paused: true, pausedBy: { by: 'ann' } });
    expect(seen.pausedStatus).toMatchObject({ state: 'awaiting-approval', awaitingApproval: 1, paused: true });
    expect(seen.pausedAttribute).toBe('paused');
    expect(seen.splitsWhilePaused).toEqual([]);
    expect(seen.resumeAnswer).toMatchObject({ state: 'awaiting-approval', paused: false });
    expect(seen.resumedAttribute).toBe('awaiting-approval');
    expect(w.splits).toEqual([10, 100]);
    expect(await stateAttribute()).toBe(out.status.state);
    expect(out.status.state).toBe('succeeded');
  });

  test('cancelling the run rolls the LB back before it ends cancelled (traffic used to stay on the new backend)', async () => {
    // A watch that lasts until it is cancelled, so that the cancel lands in the middle of one.
    const watchUntilCancelled = async () => {
      const ctx = Context.current();
      for (;;) {
        ctx.heartbeat();
        await ctx.sleep(200);
      }
    };
    const { w, handle, finish } = await start(
      {
        steps: [
          { weight: 10, window: '30m' },
          { weight: 100, window: '30m' },
        ],
      },
      healthy,
      { activities: { watchRolloutMetrics: watchUntilCancelled } },
    );
    const out = await finish(async () => {
      await waitFor('monitoring step 1', async () => (await status(handle)).state === 'monitoring', 30_000);
      await handle.cancel();
    });
    expect(out.ok).toBe(false);
    expect(w.splits).toEqual([10, 0]);
    expect(out.status.state).toBe('cancelled');
    expect(out.status.decisions.map((d) => d.decision)).toEqual(
      expect.arrayContaining([expect.stringMatching(/rolled back to 100 % blue/)]),
    );
  });

  test("the workflow id must be the service's, so two rollouts of one service cannot run together", async () => {
    const { w, finish } = await start({ service: 'payments' }, healthy, { id: 'my-own-id' });
    const out = await finish();
    expect(out.ok).toBe(false);
    expect((out as any).e.cause.message).toMatch(/must run as workflow id "rollout-payments"/);
    expect(w.plans + w.splits.length).toBe(0);
  });

  test('bad input fails at once, naming the field, and touches nothing', async () => {
    const { w, finish } = await start({
      steps: [
        { weight: 30, window: '1m' },
        { weight: 10, window: '1m' },
        { weight: 100, window: '1m' },
      ],
    });
    const out = await finish();
    expect(out.ok).toBe(false);
    expect((out as any).e.cause.message).toMatch(/steps\.1\.weight: weights must rise/);
    expect(w.plans + w.splits.length + w.samples).toBe(0);
  });

  test('zero durations are refused before anything happens (a "0s" window and interval used to sample forever at 10 %)', async () => {
    const { w, finish } = await start({
      sampleInterval: '0s',
      steps: [
        { weight: 10, window: '0s' },
        { weight: 100, window: '1m' },
      ],
    });
    const out = await finish();
    expect(out.ok).toBe(false);
    expect((out as any).e.cause.message).toBe(
      'invalid phasedRolloutWorkflow input:\nsteps.0.window: "0s" is below the minimum of 100ms\nsampleInterval: "0s" is below the minimum of 100ms',
    );
    expect(w.plans + w.splits.length + w.samples).toBe(0);
  });

  test('an activity failure outside the gates (the clean-up) ends the run failed, with the reason in words', async () => {
    const { w, finish } = await start({
      sampleInterval: '1m',
      steps: [{ weight: 100, window: '1m' }],
      cleanup: 'maint',
    });
    w.failCleanup = 'load balancer "edge": blue reads back ready after setting maint';
    const out = await finish();
    expect(out.ok).toBe(false);
    const cause = (out as any).e.cause;
    expect(cause.message).toBe('load balancer "edge": blue reads back ready after setting maint');
    expect(cause.type).toBe('ActivityFailed');
    expect(out.status.state).toBe('failed');
    expect(out.status.failure).toMatch(/^failed \(was cleaning-up\): load balancer "edge"/);
  });
});

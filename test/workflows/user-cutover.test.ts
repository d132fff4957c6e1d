import { Worker } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { userCutoverWorkflow } from '../../src/workflows';
import { cutoverEndStates, type CutoverStatus } from '../../src/workflows/cutover/status';
import {
  abortSignal,
  abortUpdate,
  approveSignal,
  pauseUpdate,
  rescheduleSignal,
  resumeUpdate,
  skipSignal,
  statusQuery,
} from '../../src/workflows/cutover/messages';
import type { OperatorInput } from '../../src/workflows/common/operator-controls';
import { OpsflowState } from '../../src/domain/search-attributes';
import { waitFor } from '../helpers/ports';
import type { MetricReading, Sample } from '../../src/domain/gate/evaluate';
import type { Notification } from '../../src/domain/notification';
import type { CutoverPlan } from '../../src/activities/cutover/plan';
import type { ResolvedBaselineGate } from '../../src/domain/baseline/gate';
import { cutoverPlanActivities } from '../../src/activities/cutover/plan';
import { parseConfigText } from '../../src/config/load';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, redisConnection, requirePostgres, requireRedis } from '../helpers/services';
import { recordHistory } from '../helpers/histories';
import Redis from 'ioredis';
import { cutoverActivities, type BatchRef } from '../../src/activities/cutover';
import { RunbookApis, idsWhere, seedUsers } from '../helpers/cutover-fixtures';
import { testToken } from '../helpers/tokens';

const H = 3_600_000;

/**
 * The cutover's orchestration on the time-skipping server, runbooks §3's day-long schedule included,
 * with activities over an in-memory directory and router: each batch's members are counted, the
 * router holds who is on the new system, and every call is logged with its (skipped) server time.
 */
describe('userCutoverWorkflow (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await timeSkippingEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  interface World {
    calls: { activity: string; batch?: number; atMs: number }[];
    /** Users per batch (by index) as the directory lists them. */
    sizes: number[];
    onNew: Set<number>;
    restored: number[];
    samples: number;
    sent: Notification[];
    failListing?: number;
    /** What the stand-in resolveBaselineGate answers: a gate, or the reason it refuses. */
    baseline?: ResolvedBaselineGate | string;
    baselineAsked: unknown[];
    /** Metrics the stand-in plan says the sources report. */
    reported?: string[];
    /** Replaces the stand-in sampling activity (a real one, reading a real table). */
    sampler?: (a: Scope) => Promise<Sample>;
    /** Every watch of an interval asked for (the batches' windows since the patch cutover-watch-interval). */
    watches: (Scope & { durationMs: number })[];
    /** Replaces the stand-in watch (which skips the interval, then samples with `sample`). */
    watch?: (a: Scope & { durationMs: number }, sample: () => Promise<Sample>) => Promise<Sample>;
    watchesCancelled: number;
  }
  type Scope = { service: string; cohort: string; since?: string; sources: string[] };
  type Metrics = (w: World, cohort: string) => MetricReading[];
  const healthy: Metrics = () => [
    { metric: 'errorRatePercent', source: 'prom', value: 0.5 },
    { metric: 'responseTimeMs', source: 'prom', value: 120 },
    { metric: 'complaints', source: 'prom', value: 0 },
  ];
  const at = () => Context.current().info.scheduledTimestampMs;

  let seq = 0;
  async function start(input: Record<string, unknown>, metrics: Metrics = healthy, w0: Partial<World> = {}) {
    const w: World = {
      calls: [],
      sizes: [1_000, 300, 1_000, 3_000],
      onNew: new Set(),
      restored: [],
      samples: 0,
      sent: [],
      baselineAsked: [],
      watches: [],
      watchesCancelled: 0,
      ...w0,
    };
    const taskQueue = `cutover-ts-${++seq}`;
    const service = `svc-${seq}`;
    const log = (activity: string, batch?: number) => w.calls.push({ activity, batch, atMs: at() });
    const sample = async (a: Scope): Promise<Sample> => {
      w.samples++;
      if (w.sampler) return w.sampler(a);
      return { at: new Date().toISOString(), readings: metrics(w, a.cohort) };
    };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: {
        planCutover: async (): Promise<CutoverPlan> => ({
          routerKind: 'redis',
          providers: Object.fromEntries(
            (w.reported ?? ['errorRatePercent', 'responseTimeMs', 'p95Ms', 'complaints']).map((m) => [m, ['prom']]),
          ),
          notes: [],
        }),
        resolveBaselineGate: async (spec: unknown): Promise<ResolvedBaselineGate> => {
          log('resolveBaselineGate');
          w.baselineAsked.push(spec);
          if (typeof w.baseline !== 'object')
            throw ApplicationFailure.nonRetryable(w.baseline ?? 'no baseline', 'BaselineGateUnavailable');
          return w.baseline;
        },
        cutoverSnapshot: async (a: { batch: number }) => {
          log('snapshot', a.batch);
          if (w.failListing === a.batch)
            throw ApplicationFailure.nonRetryable('directory answered HTTP 503', 'DirectoryRejected');
          return { members: w.sizes[a.batch], listed: w.sizes[a.batch], alreadyTaken: false };
        },
        cutoverRecordPriors: async (a: { batch: number }) => (
          log('priors', a.batch),
          { written: w.sizes[a.batch], verified: w.sizes[a.batch] }
        ),
        cutoverMove: async (a: { batch: number }) => {
          log('move', a.batch);
          w.onNew.add(a.batch);
          return { written: w.sizes[a.batch], verified: w.sizes[a.batch] };
        },
        cutoverRestore: async (a: { batch: number }) => {
          log('restore', a.batch);
          w.onNew.delete(a.batch);
          w.restored.push(a.batch);
          return { written: w.sizes[a.batch], verified: w.sizes[a.batch] };
        },
        cutoverSampleRoutes: async () => ({ sampled: 100, matching: 100, mismatches: [] }),
        sampleCohortMetrics: sample,
        // The watch of an interval, as one sample. It cannot wait the interval on the test server's
        // clock (time does not skip while an activity runs, and skipping it from inside the activity
        // outruns the watch's heartbeat timeout), so it takes a moment of real time instead.
        watchCohortMetrics: async (a: Scope & { durationMs: number }): Promise<Sample> => {
          w.watches.push(a);
          if (w.watch) return w.watch(a, () => sample(a));
          await new Promise((r) => setTimeout(r, 20));
          return sample(a);
        },
        notify: async (n: Notification) => {
          w.sent.push(n);
          return { notifier: n.notifier, status: 200 };
        },
      },
    });
    const handle: WorkflowHandle<typeof userCutoverWorkflow> = await env.client.workflow.start(userCutoverWorkflow, {
      taskQueue,
      workflowId: `cutover-${service}`,
      args: [
        {
          service,
          directory: 'staff',
          router: 'gateway',
          metricSources: ['prom'],
          notify: ['ops'],
          sampleInterval: '10m',
          ...input,
        } as any,
      ],
    });
    const startMs = (await handle.describe()).startTime.getTime();
    const finish = (during?: () => Promise<void>) =>
      worker.runUntil(async () => {
        await during?.();
        const out = await handle.result().then(
          (r) => ({ ok: true as const, r }),
          (e) => ({ ok: false as const, e }),
        );
        return { ...out, status: (await handle.query(statusQuery).catch(() => undefined))! };
      });
    const hoursOf = (activity: string) =>
      w.calls
        .filter((c) => c.activity === activity)
        .map((c) => [c.batch, Math.round(((c.atMs - startMs) / H) * 100) / 100]);
    return { w, handle, finish, hoursOf, worker };
  }
  /**
   * Lets the server skip time while the test drives the run (it skips only while a result is
   * awaited): a window's watches take no server time here, so the test waits for states instead.
   * The test awaits what it returns before it ends (two results awaited at once leave time locked).
   */
  const skipTimeMeanwhile = (handle: WorkflowHandle) =>
    handle.result().then(
      () => undefined,
      () => undefined,
    );
  /** A watch that lasts until the workflow cancels it (heartbeating, so that the cancel reaches it). */
  const watchUntilCancelled = async (w: World): Promise<Sample> => {
    const ctx = Context.current();
    try {
      for (;;) {
        ctx.heartbeat();
        await ctx.sleep(200);
      }
    } finally {
      w.watchesCancelled++;
    }
  };
  const failure = (out: { ok: boolean; e?: unknown }) =>
    (out as { e: WorkflowFailedError }).e.cause as ApplicationFailure;

  test('runbooks §3 defaults: batches start at +1h, +4h, +8h and +1d, each watched for its window; stakeholders told at the end', async () => {
    const { w, finish, hoursOf } = await start({});
    const out = await finish();
    if (!out.ok) throw out.e;
    expect(hoursOf('snapshot')).toEqual([
      [0, 1],
      [1, 4],
      [2, 8],
      [3, 24],
    ]);
    expect(hoursOf('move').map(([b]) => b)).toEqual([0, 1, 2, 3]);
    expect(w.samples).toBe(3 + 6 + 12 + 18);
    expect(w.restored).toEqual([]);
    expect(out.status.state).toBe('completed');
    expect(out.status.batches.map((b) => [b.state, b.moved])).toEqual([
      ['moved', 1_000],
      ['moved', 300],
      ['moved', 1_000],
      ['moved', 3_000],
    ]);
    expect(w.sent.map((n) => [n.severity, n.title])).toEqual([['info', expect.stringMatching(/completed/)]]);
  });

  test('a batch that ends late pushes the next one out to keep one hour between them', async () => {
    const { handle, finish, hoursOf } = await start(
      {
        batches: [
          {
            name: 'a',
            cohort: { department: ['IT'] },
            startAt: '+1h',
            thresholds: { errorRatePercent: 10 },
            window: '2h',
          },
          { name: 'b', cohort: 'rest', startAt: '+4h', thresholds: { errorRatePercent: 5 }, window: '30m' },
        ],
        // Two inconclusive samples at its end hold batch a for a person, who answers 2h10 later.
        inconclusive: { maxConsecutive: 2 },
        holdTimeout: '4h',
      },
      (w) => (w.samples === 11 || w.samples === 12 ? [] : healthy(w, '')),
    );
    const out = await finish(async () => {
      await env.sleep('60m'); // batch a starts at +1h; its watches take no server time
      await waitFor('batch a held', async () => (await handle.query(statusQuery)).state === 'held', 30_000, 50);
      await env.sleep('130m');
      await handle.executeUpdate(resumeUpdate, { args: [{ by: 'ann' }] });
    });
    if (!out.ok) throw out.e;
    const [[, a], [, b]] = hoursOf('snapshot') as [number, number][];
    expect(a).toBe(1);
    // a: held from 1h to 3h10, then a 13th sample ends it; b at 4h10, not 4h.
    expect(b).toBeCloseTo(4 + 10 / 60, 2);
  });

  test('reschedule and skip: managers moved to +6h, Sales skipped, a reschedule into the past refused', async () => {
    const { w, handle, finish, hoursOf } = await start({});
    const out = await finish(async () => {
      await handle.signal(rescheduleSignal, { batch: 'managers', startAt: '+6h', by: 'ann' });
      await handle.signal(skipSignal, { batch: 3, by: 'ann' });
      await handle.signal(rescheduleSignal, { batch: 'everyone else', startAt: '2020-01-01T00:00:00Z' });
      await handle.signal(rescheduleSignal, { batch: 'nobody', startAt: '+2h' });
    });
    if (!out.ok) throw out.e;
    expect(hoursOf('snapshot')).toEqual([
      [0, 1],
      [1, 6],
      [3, 24],
    ]);
    expect(out.status.batches.map((b) => b.state)).toEqual(['moved', 'moved', 'skipped', 'moved']);
    const decisions = out.status.decisions.map((d) => d.text).join('\n');
    expect(decisions).toMatch(/batch 2\/4 "managers" rescheduled to .* by ann/);
    expect(decisions).toMatch(/batch 3\/4 "Sales" skipped by ann/);
    expect(decisions).toMatch(
      /reschedule of batch 4\/4 "everyone else" refused: 2020-01-01T00:00:00.000Z is in the past/,
    );
    expect(decisions).toMatch(/reschedule refused: no batch named "nobody"/);
    expect(w.samples).toBe(3 + 6 + 18);
  });

  test('a listing failure before any move: nothing rolled back, the run says so, later batches never start', async () => {
    const { w, finish } = await start({}, healthy, { failListing: 0 });
    const out = await finish();
    expect(out.ok).toBe(false);
    const f = failure(out);
    expect(f.type).toBe('CutoverStopped');
    expect(f.message).toMatch(
      /stopped at batch 1\/4 "IT department": listing .* failed before any user of it was moved: directory answered HTTP 503; nothing to roll back; later batches will not start/,
    );
    expect(w.calls.map((c) => c.activity)).toEqual(['snapshot']);
    expect(out.status.batches.map((b) => b.state)).toEqual(['failed', 'not-started', 'not-started', 'not-started']);
    expect(w.sent).toHaveLength(1);
    expect(w.sent[0].text).toMatch(/nothing to roll back/);
  });

  test("each sample is one watch of the cohort's interval; a watch that ends early says why, in the batch's samples and decisions, and the batch rolls back at once", async () => {
    const managersFail: Metrics = (w, cohort) => [
      { metric: 'errorRatePercent', source: 'prom', value: cohort === 'managers' ? 7.5 : 0.5 },
      { metric: 'responseTimeMs', source: 'prom', value: 100 },
      { metric: 'complaints', source: 'prom', value: 0 },
    ];
    const early = 'prom: errorRatePercent 7.5 % > 5 % on 3 reads in a row, 5 s apart';
    const { w, handle, finish } = await start({}, managersFail, {
      watch: async (a, sample) => (a.cohort === 'managers' ? { ...(await sample()), early } : sample()),
    });
    const out = await finish();
    recordHistory(env.address, handle.workflowId, 'user-cutover-watch-ended-early');
    expect(failure(out).type).toBe('CutoverRolledBack');
    expect(w.restored).toEqual([1]);
    // IT's three samples, then managers' first: each a watch of the 10-minute interval, from the batch's start.
    expect(w.watches.map((a) => [a.cohort, a.durationMs, a.sources, typeof a.since])).toEqual([
      ['IT department', 600_000, ['prom'], 'string'],
      ['IT department', 600_000, ['prom'], 'string'],
      ['IT department', 600_000, ['prom'], 'string'],
      ['managers', 600_000, ['prom'], 'string'],
    ]);
    expect(w.watches[3].since).toBe(out.status.batches[1].startedAt);
    expect(out.status.batches[1]).toMatchObject({ state: 'rolled-back', samplesTaken: 1 });
    expect(out.status.lastSamples.map((x) => [x.batch, x.k, x.early])).toEqual([
      ['IT department', 1, undefined],
      ['IT department', 2, undefined],
      ['IT department', 3, undefined],
      ['managers', 1, early],
    ]);
    expect(out.status.decisions.map((d) => d.text).filter((t) => t.includes('ended early'))).toEqual([
      `batch 2/4 "managers" sample 1/6 ended early: ${early}`,
    ]);
  });

  test('a failed gate in batch 2 restores exactly batch 2, names batch, metric and value, and stops the plan', async () => {
    const managersFail: Metrics = (w, cohort) => [
      { metric: 'errorRatePercent', source: 'prom', value: cohort === 'managers' ? 7.5 : 0.5 },
      { metric: 'responseTimeMs', source: 'prom', value: 100 },
      { metric: 'complaints', source: 'prom', value: 0 },
    ];
    const { w, finish } = await start({}, managersFail);
    const out = await finish();
    const f = failure(out);
    expect(f.type).toBe('CutoverRolledBack');
    expect(f.message).toMatch(
      /batch 2\/4 "managers": errorRatePercent 7\.5 > 5 .*restored 300 users of managers to their prior routes; later batches will not start/,
    );
    expect(w.restored).toEqual([1]);
    expect([...w.onNew]).toEqual([0]);
    expect(w.calls.filter((c) => c.activity === 'snapshot').map((c) => c.batch)).toEqual([0, 1]);
    expect(out.status.batches.map((b) => b.state)).toEqual(['moved', 'rolled-back', 'not-started', 'not-started']);
    expect(w.sent).toHaveLength(1);
    expect(w.sent[0]).toMatchObject({
      severity: 'critical',
      details: expect.objectContaining({ batch: 'managers', metric: 'errorRatePercent', value: 7.5 }),
    });
  });

  test('a batch whose snapshot is empty is skipped: nothing moved, no window, the plan goes on to the next batch', async () => {
    const { w, handle, finish, hoursOf } = await start({}, healthy, { sizes: [1_000, 0, 1_000, 3_000] });
    const out = await finish();
    if (!out.ok) throw out.e;
    recordHistory(env.address, handle.workflowId, 'user-cutover-empty-cohort-skipped');
    expect(hoursOf('snapshot')).toEqual([
      [0, 1],
      [1, 4],
      [2, 8],
      [3, 24],
    ]);
    expect(w.calls.filter((c) => c.batch === 1).map((c) => c.activity)).toEqual(['snapshot']);
    expect(hoursOf('move').map(([b]) => b)).toEqual([0, 2, 3]);
    // IT's 3 samples, Sales' 12 and everyone else's 18: none for the empty managers batch
    expect(w.samples).toBe(3 + 12 + 18);
    expect(out.status.state).toBe('completed');
    expect(out.status.batches.map((b) => b.state)).toEqual(['moved', 'skipped', 'moved', 'moved']);
    expect(out.status.batches[1]).toMatchObject({
      members: 0,
      samplesTaken: 0,
      note: '0 members, nothing to move or watch',
      endedAt: expect.any(String),
    });
    expect(out.status.batches[1].moved).toBeUndefined();
    expect(out.status.decisions.map((d) => d.text)).toContain(
      'batch 2/4 "managers": 0 members, nothing to move or watch; skipped, the plan goes on to the next batch',
    );
    expect(w.sent.map((n) => n.text)).toEqual([expect.stringMatching(/5000 users on the new system in 3 batches/)]);
  });

  test('an empty last batch ends the plan as completed, without a window', async () => {
    const { w, finish } = await start(
      {
        batches: [
          {
            name: 'a',
            cohort: { department: ['IT'] },
            startAt: '+1h',
            thresholds: { errorRatePercent: 10 },
            window: '30m',
          },
          { name: 'b', cohort: 'rest', startAt: '+3h', thresholds: { errorRatePercent: 5 }, window: '30m' },
        ],
      },
      healthy,
      { sizes: [1_000, 0] },
    );
    const out = await finish();
    if (!out.ok) throw out.e;
    expect(out.status.state).toBe('completed');
    expect(out.status.batches.map((b) => [b.state, b.members])).toEqual([
      ['moved', 1_000],
      ['skipped', 0],
    ]);
    expect(w.samples).toBe(3);
    expect(w.restored).toEqual([]);
  });

  test("a cutover paused while batch 1 is watched: status paused (by whom) and OpsflowState 'paused', still once it waits for batch 2; resumed before batch 2, the attribute reads waiting and the plan keeps its schedule", async () => {
    // The pause lands while batch 1's first sample is being watched: its watch asks for it.
    const seen: Record<string, unknown> = {};
    // Assigned once the run has started; the watch above it uses it only after that.
    // eslint-disable-next-line prefer-const
    let handle!: WorkflowHandle<typeof userCutoverWorkflow>;
    const stateAttribute = async () => (await handle.describe()).typedSearchAttributes.get(OpsflowState);
    const status = () => handle.query(statusQuery);
    const started = await start({}, healthy, {
      watch: async (a, sample) => {
        if (a.cohort === 'IT department' && seen.watched === undefined) {
          seen.watched = { status: await status(), attribute: await stateAttribute() };
          seen.pauseAnswer = await handle.executeUpdate(pauseUpdate, {
            args: [{ by: 'ann', reason: 'support calls' }],
          });
          seen.pausedAttribute = await stateAttribute();
        }
        return sample();
      },
    });
    handle = started.handle;
    const { finish, hoursOf } = started;
    const out = await finish(async () => {
      await env.sleep('60m'); // batch 1 starts at +1h; its watches take no server time
      // batch 1's window over: the run waits for batch 2 at +4h, still paused
      await waitFor('waiting for batch 2', async () => (await status()).batches[1].state === 'waiting');
      seen.waiting = { status: await status(), attribute: await stateAttribute() };
      seen.resumeAnswer = await handle.executeUpdate(resumeUpdate, { args: [{ by: 'bob' }] });
      seen.resumedAttribute = await stateAttribute();
    });
    if (!out.ok) throw out.e;
    recordHistory(env.address, handle.workflowId, 'user-cutover-paused-resumed');

    expect(seen.watched).toMatchObject({ status: { state: 'monitoring', paused: false }, attribute: 'monitoring' });
    expect(seen.pauseAnswer).toMatchObject({ state: 'monitoring', paused: true, pausedBy: { by: 'ann' } });
    expect(seen.pausedAttribute).toBe('paused');
    // The state it entered meanwhile is its own; the attribute still says paused.
    const waiting = seen.waiting as { status: CutoverStatus; attribute: string };
    expect(waiting.status).toMatchObject({ state: 'waiting', paused: true });
    expect(waiting.status.batches.map((b) => b.state)).toEqual(['moved', 'waiting', 'scheduled', 'scheduled']);
    expect(waiting.attribute).toBe('paused');
    expect(seen.resumeAnswer).toMatchObject({ state: 'waiting', paused: false });
    expect(seen.resumedAttribute).toBe('waiting');
    expect(hoursOf('snapshot')).toEqual([
      [0, 1],
      [1, 4],
      [2, 8],
      [3, 24],
    ]);
    expect(out.status.state).toBe('completed');
    expect(await stateAttribute()).toBe('completed');
  });

  test('an abort while paused before batch 2 ends the pause at once: batch 2 never starts, batch 1 is restored ({"all": true}), the run ends aborted without a resume', async () => {
    const { w, handle, finish } = await start({});
    const stateAttribute = async () => (await handle.describe()).typedSearchAttributes.get(OpsflowState);
    const seen: Record<string, unknown> = {};
    const out = await finish(async () => {
      await env.sleep('2h'); // batch 1 moved and watched; batch 2 starts at +4h
      await handle.executeUpdate(pauseUpdate, { args: [{ by: 'ann', reason: 'support calls' }] });
      await env.sleep('3h'); // past batch 2's start: the pause holds it back
      seen.held = { status: await handle.query(statusQuery), attribute: await stateAttribute() };
      seen.snapshotsWhileHeld = w.calls.filter((c) => c.activity === 'snapshot').map((c) => c.batch);
      const abort: OperatorInput & { all: boolean } = { all: true, by: 'bob', reason: 'too many tickets' };
      await handle.executeUpdate(abortUpdate, { args: [abort] });
      // No resume: the abort alone must end the run (it used to wait for a resume while paused).
      seen.ended = await waitFor(
        'the paused cutover to stop on the abort',
        async () => {
          const s = await handle.query(statusQuery);
          return cutoverEndStates.includes(s.state) ? s : undefined;
        },
        30_000,
      );
    });
    if (out.ok) throw new Error('the aborted cutover completed');
    recordHistory(env.address, handle.workflowId, 'user-cutover-paused-aborted');

    const held = seen.held as { status: CutoverStatus; attribute: string };
    expect(held.status).toMatchObject({ state: 'waiting', paused: true });
    expect(held.attribute).toBe('paused');
    expect(seen.snapshotsWhileHeld).toEqual([0]);
    expect((seen.ended as CutoverStatus).state).toBe('aborted');
    const f = failure(out);
    expect(f.type).toBe('CutoverAborted');
    expect(f.message.replace(/^cutover of svc-\d+ /, '')).toBe(
      'aborted by bob before batch 2/4 "managers" started: too many tickets; restored 1000 users of IT department to their prior routes; later batches will not start',
    );
    expect(w.calls.filter((c) => c.activity === 'snapshot').map((c) => c.batch)).toEqual([0]);
    expect(w.restored).toEqual([0]);
    expect(w.onNew.size).toBe(0);
    expect(out.status.batches.map((b) => b.state)).toEqual([
      'rolled-back',
      'not-started',
      'not-started',
      'not-started',
    ]);
    expect(await stateAttribute()).toBe('aborted');
  });

  test('an abort while batch 2 waits for its approval says it came before batch 2 started: nothing of batch 2 listed, batch 1 stays moved', async () => {
    const { w, handle, finish } = await start({ requireApproval: true });
    const out = await finish(async () => {
      // Batch 1's approve sent ahead (it names its batch, so it waits for batch 1's wait).
      await handle.signal(approveSignal, { step: 1, by: 'ann' });
      await env.sleep('5h'); // batch 1 moved and watched; batch 2's start (+4h) passed: it waits for its approve
      await waitFor('batch 2 to wait for its approve', async () => {
        const s = await handle.query(statusQuery);
        return s.awaitingApproval === 2 && s.batches[0].state === 'moved';
      });
      await handle.executeUpdate(abortUpdate, { args: [{ by: 'bob', reason: 'wrong week' }] });
    });
    if (out.ok) throw new Error('the aborted cutover completed');
    const f = failure(out);
    expect(f.type).toBe('CutoverAborted');
    expect(f.message.replace(/^cutover of svc-\d+ /, '')).toBe(
      'aborted by bob before batch 2/4 "managers" started: wrong week; nothing to roll back; later batches will not start',
    );
    expect(w.calls.filter((c) => c.activity === 'snapshot').map((c) => c.batch)).toEqual([0]);
    expect([...w.onNew]).toEqual([0]);
    expect(out.status.batches.map((b) => b.state)).toEqual(['moved', 'not-started', 'not-started', 'not-started']);
  });

  test('a start in the past or within the gap is refused before anything is done, naming the field', async () => {
    const { w, finish } = await start({
      batches: [
        {
          name: 'a',
          cohort: { department: ['IT'] },
          startAt: '2020-01-01T00:00:00Z',
          thresholds: { errorRatePercent: 10 },
          window: '30m',
        },
        { name: 'b', cohort: { role: ['x'] }, startAt: '+1h', thresholds: { errorRatePercent: 5 }, window: '30m' },
        { name: 'c', cohort: 'rest', startAt: '+2h', thresholds: { errorRatePercent: 5 }, window: '30m' },
      ],
    });
    const out = await finish();
    const f = failure(out);
    expect(f.type).toBe('InvalidInput');
    expect(f.message).toMatch(/batches\.0\.startAt: .* is in the past/);
    expect(f.message).toMatch(/batches\.2\.startAt: \+2h .* is less than 1h after batch 2's window ends/);
    expect(w.calls).toEqual([]);
  });

  test('thresholds from a baseline: resolved once, a batch judged by its critical p95 and the failure names the baseline', async () => {
    const baseline: ResolvedBaselineGate = {
      gate: { errorRatePercent: 3.5, p95Ms: 800 },
      sources: { errorRatePercent: 'baseline http:web', p95Ms: 'baseline http:web' },
      baseline: { workflowId: 'baseline-portal', runId: 'r1', takenAt: '2026-11-20T14:00:00.000Z', complete: true },
      description: 'gate from baseline of portal taken 2026-11-20 14:00: errorRatePercent 3.5 %, p95Ms 800 ms',
    };
    // p95 1200 ms is far under runbooks §3's 5 s limit but above the baseline's critical 800 ms: batch b only.
    const slowB: Metrics = (w, cohort) => [
      ...healthy(w, cohort),
      { metric: 'p95Ms', source: 'prom', value: cohort === 'b' ? 1200 : 300 },
    ];
    const { w, finish } = await start(
      {
        thresholds: { fromBaseline: 'portal' },
        batches: [
          { name: 'a', cohort: { department: ['IT'] }, startAt: '+1h', window: '30m' },
          { name: 'b', cohort: 'rest', startAt: '+3h', window: '30m' },
        ],
      },
      slowB,
      { baseline },
    );
    const out = await finish();
    const f = failure(out);
    expect(f.type).toBe('CutoverRolledBack');
    expect(f.message).toMatch(
      /batch 2\/2 "b": p95Ms 1200 > 800 .*gate from baseline of portal taken 2026-11-20 14:00.*restored 300 users of b/,
    );
    expect(w.baselineAsked).toEqual([expect.objectContaining({ fromBaseline: 'portal' })]);
    expect(w.calls.map((c) => c.activity).slice(0, 2)).toEqual(['resolveBaselineGate', 'snapshot']);
    expect(w.restored).toEqual([1]);
    expect(out.status.batches.map((b) => b.state)).toEqual(['moved', 'rolled-back']);
    expect(out.status.thresholdsFrom).toEqual([
      expect.objectContaining({ gate: baseline.gate, batches: ['a', 'b'], baseline: baseline.baseline }),
    ]);
    expect(out.status.decisions.map((d) => d.text).join('\n')).toMatch(
      /gate from baseline of portal taken 2026-11-20 14:00: errorRatePercent 3\.5 %, p95Ms 800 ms \(for batch 1\/2 "a", batch 2\/2 "b"\)/,
    );
  });

  test('no usable baseline fails the start naming it, before anyone is listed or moved', async () => {
    const { w, finish } = await start(
      {
        batches: [{ name: 'a', cohort: 'rest', startAt: '+1h', window: '30m', thresholds: { fromBaseline: 'portal' } }],
      },
      healthy,
      { baseline: 'gate from baseline: no baseline of portal' },
    );
    const out = await finish();
    const f = failure(out);
    expect(f.type).toBe('BaselineGateUnavailable');
    expect(f.message).toMatch(/cannot cut over svc-\d+, nobody was moved: gate from baseline: no baseline of portal/);
    expect(w.calls.map((c) => c.activity)).toEqual(['resolveBaselineGate']);
    expect(w.onNew.size).toBe(0);
    expect(w.samples).toBe(0);
  });

  test('a baseline threshold no source reports is said in the decisions, and the batch is judged by the rest', async () => {
    const baseline: ResolvedBaselineGate = {
      gate: { errorRatePercent: 3.5, p95Ms: 800 },
      sources: {},
      description: 'gate from baseline of portal taken 2026-11-20 14:00: errorRatePercent 3.5 %, p95Ms 800 ms',
    };
    const { finish } = await start(
      {
        thresholds: { fromBaseline: 'portal' },
        batches: [{ name: 'a', cohort: 'rest', startAt: '+1h', window: '30m' }],
      },
      (w, cohort) => [...healthy(w, cohort), { metric: 'p95Ms', source: 'prom', value: 5_000 }],
      { baseline, reported: ['errorRatePercent', 'responseTimeMs', 'complaints'] },
    );
    const out = await finish();
    if (!out.ok) throw out.e;
    expect(out.status.batches[0].state).toBe('moved');
    expect(out.status.decisions.map((d) => d.text)).toContain(
      "no metric source reports p95Ms: the baseline's threshold for it is not judged",
    );
  });

  describe('complaints counted in a real PostgreSQL table', () => {
    const pg = new PgScratch('cutover_wf_complaints');
    let table: string;
    let real: ReturnType<typeof cutoverPlanActivities>;
    beforeAll(async () => {
      await requirePostgres();
      const schema = await pg.schema();
      table = `${schema}.complaints`;
      await pg.query(
        `CREATE TABLE ${table} (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, cohort text NOT NULL)`,
      );
      real = cutoverPlanActivities(
        parseConfigText(
          JSON.stringify({
            postgres: { main: { ...pgConnection } },
            metricSources: {
              complaints: {
                type: 'postgres-count',
                postgres: 'main',
                table,
                timestampColumn: 'created_at',
                cohortColumn: 'cohort',
              },
            },
          }),
          'test.json',
        ),
      );
    }, 60_000);
    afterAll(async () => {
      await pg.drop();
    });
    const complain = (n: number, cohort: string, atMs: number) =>
      pg.query(
        `INSERT INTO ${table} (created_at, cohort) SELECT $1::timestamptz + k * interval '1 second', $2 FROM generate_series(1, $3::int) k`,
        [new Date(atMs).toISOString(), cohort, n],
      );

    test("complaints filed during batch 2's window fail its gate and roll it back; earlier ones and other cohorts' do not count", async () => {
      // the error rate is a stand-in; complaints are counted by the real sampling activity in the real table
      let filed = false;
      const sampler = async (a: {
        service: string;
        cohort: string;
        since?: string;
        sources: string[];
      }): Promise<Sample> => {
        const s = await real.sampleCohortMetrics({ ...a, sources: a.sources.filter((x) => x !== 'prom') });
        return {
          at: s.at,
          readings: [...healthy({} as World, a.cohort).filter((r) => r.metric !== 'complaints'), ...s.readings],
        };
      };
      const { w, handle, finish } = await start(
        {
          metricSources: ['prom', 'complaints'],
          batches: [
            {
              name: 'IT department',
              cohort: { department: ['IT'] },
              startAt: '+1h',
              thresholds: { errorRatePercent: 10 },
              window: '30m',
            },
            {
              name: 'managers',
              cohort: { role: ['manager'] },
              startAt: '+3h',
              thresholds: { errorRatePercent: 5 },
              window: '60m',
            },
          ],
        },
        healthy,
        {
          sampler,
          sizes: [1_000, 300],
          // Batch 2's first watch files them, a minute into its window (its clock is the skipped
          // server time): 12 for managers, over the default 10, and 20 from the IT department,
          // whose batch is done. A watch takes no server time here, so the window cannot be caught mid-way.
          watch: async (a, sample) => {
            if (a.cohort === 'managers' && !filed) {
              filed = true;
              const begun = Date.parse(a.since!);
              await complain(12, 'managers', begun + 60_000);
              await complain(20, 'IT department', begun + 60_000);
            }
            return sample();
          },
        },
      );
      const startMs = (await handle.describe()).startTime.getTime();
      // a day before the cutover started: before every batch, so never counted
      await complain(30, 'managers', startMs - 24 * H);
      await complain(30, 'IT department', startMs - 24 * H);
      const out = await finish();
      const f = failure(out);
      expect(f.type).toBe('CutoverRolledBack');
      expect(f.message).toMatch(
        /batch 2\/2 "managers": complaints 12 > 10 .*restored 300 users of managers to their prior routes/,
      );
      expect(w.restored).toEqual([1]);
      expect([...w.onNew]).toEqual([0]);
      expect(out.status.batches.map((b) => b.state)).toEqual(['moved', 'rolled-back']);
      expect(w.sent[0]).toMatchObject({
        severity: 'critical',
        details: expect.objectContaining({ batch: 'managers', metric: 'complaints', value: 12 }),
      });
      expect(await pg.count(`SELECT count(*) FROM ${table}`)).toBe(92);
    });
  });

  /**
   * The read-back fed a router that loses a write, with the real activities: the users table and
   * the store in PostgreSQL, the routing hash in Redis, the runbook's routing API on a loopback
   * server. Only the metrics, the plan and the notifications are stand-ins.
   */
  describe('a router that loses a write: the read-back catches it and the batch is restored', () => {
    const pg = new PgScratch('cutover_readback');
    const redis = new Redis({ ...redisConnection, lazyConnect: true });
    const token = testToken('routing');
    const apis = new RunbookApis(token);
    const USERS = 700;
    const it = idsWhere(USERS, (u) => u.department === 'IT');
    let real: ReturnType<typeof cutoverActivities>;
    let n = 0;

    beforeAll(async () => {
      await Promise.all([requirePostgres(), requireRedis()]);
      await redis.connect();
      await apis.start();
      process.env.CUTOVER_READBACK_TOKEN = token;
      const schema = await pg.schema();
      const table = await seedUsers(pg, schema, USERS);
      real = cutoverActivities(
        parseConfigText(
          JSON.stringify({
            postgres: { main: { ...pgConnection } },
            redis: { cache: { host: redisConnection.host, port: redisConnection.port } },
            directories: { staff: { type: 'postgres', postgres: 'main', table } },
            routers: {
              gateway: { type: 'redis', redis: 'cache', chunkSize: 100 },
              legacy: {
                type: 'http',
                url: apis.url,
                token: { env: 'CUTOVER_READBACK_TOKEN' },
                concurrency: 4,
                retries: 1,
              },
            },
            cutover: { store: { postgres: 'main', schema } },
          }),
          'test.json',
        ),
      );
    }, 60_000);
    afterAll(async () => {
      redis.disconnect();
      await apis.stop();
      await pg.drop();
    });

    /** One IT batch through `router`; `afterMove` runs once the real move has returned. */
    async function cutover(router: string, afterMove: (service: string) => Promise<void> = async () => undefined) {
      const service = `readback-${++n}-${process.pid}`;
      const taskQueue = `cutover-readback-${n}`;
      const sent: Notification[] = [];
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: await workflowBundle(),
        activities: {
          ...real,
          planCutover: async (): Promise<CutoverPlan> => ({
            routerKind: router,
            providers: { errorRatePercent: ['prom'] },
            notes: [],
          }),
          sampleCohortMetrics: async (): Promise<Sample> => ({
            at: new Date().toISOString(),
            readings: [{ metric: 'errorRatePercent', source: 'prom', value: 0.1 }],
          }),
          notify: async (m: Notification) => (sent.push(m), { notifier: m.notifier, status: 200 }),
          cutoverMove: async (ref: BatchRef) => {
            const r = await real.cutoverMove(ref);
            await afterMove(service);
            return r;
          },
        },
      });
      const handle = await env.client.workflow.start(userCutoverWorkflow, {
        taskQueue,
        workflowId: `cutover-${service}`,
        args: [
          {
            service,
            directory: 'staff',
            router,
            metricSources: ['prom'],
            notify: ['ops'],
            sampleInterval: '10m',
            batches: [
              {
                name: 'IT department',
                cohort: { department: ['IT'] },
                startAt: '+1h',
                thresholds: { errorRatePercent: 5 },
                window: '30m',
              },
            ],
          } as any,
        ],
      });
      return worker.runUntil(async () => {
        const e = await handle.result().then(
          () => undefined,
          (err) => err,
        );
        return {
          service,
          sent,
          e: (e as WorkflowFailedError)?.cause as ApplicationFailure | undefined,
          status: await handle.query(statusQuery),
        };
      });
    }

    test("the routing API answers 200 to a PUT it does not keep: the move's read-back names the user, and the batch is restored", async () => {
      const lost = it[17];
      apis.dropPutsFor = (id, system) => id === lost && system === 'new_system';
      try {
        const out = await cutover('legacy');
        expect(out.e?.type).toBe('CutoverRolledBack');
        expect(out.e?.message).toContain(
          `${it.length - 1} of ${it.length} users read back on the new system (e.g. ${lost})`,
        );
        expect(out.status.batches[0]).toMatchObject({ state: 'rolled-back', restored: it.length });
        expect(it.filter((id) => apis.routes.get(id) !== 'old_system')).toEqual([]);
        expect(out.sent[0]?.text).toContain(lost);
      } finally {
        apis.dropPutsFor = () => false;
      }
    });

    test('a Redis write lost after it was acknowledged (as a failover to a replica that never got it loses it): the sample read back from Redis names the user, and the batch is restored', async () => {
      const lost = it[42];
      let key = '';
      const out = await cutover('gateway', async (service) => {
        key = `opsflow:routes:${service}`;
        expect(await redis.hget(key, lost)).toBe('new_system');
        await redis.hdel(key, lost);
      });
      try {
        expect(out.e?.type).toBe('CutoverRolledBack');
        expect(out.e?.message).toContain(
          `1 of ${it.length} sampled users do not read back on the new system (e.g. ${lost})`,
        );
        expect(out.status.batches[0]).toMatchObject({ state: 'rolled-back', restored: it.length });
        // nobody had a route before: the restore leaves none
        expect(await redis.hlen(key)).toBe(0);
      } finally {
        await redis.del(key);
      }
    });
  });

  // Last in the file: its watch is cancelled by the abort and ends after the run has, and the
  // time-skipping test server then keeps time locked for the activity it never saw end, which
  // stalled every test after it.
  test('abort {"all": true} during batch 2 restores batch 2 and then batch 1', async () => {
    // Batch 2's watch lasts until it is cancelled: the abort has to interrupt it.
    const { w, handle, finish } = await start({}, healthy, {
      watch: (a, sample) => (a.cohort === 'managers' ? watchUntilCancelled(w) : sample()),
    });
    const out = await finish(async () => {
      const skipping = skipTimeMeanwhile(handle);
      await waitFor('batch 2 watched', async () => (await handle.query(statusQuery)).batches[1].state === 'monitoring');
      expect([...w.onNew]).toEqual([0, 1]);
      await handle.signal(abortSignal, { all: true, by: 'ann', reason: 'support calls' });
      await skipping;
    });
    expect(w.watchesCancelled).toBe(1);
    const f = failure(out);
    expect(f.type).toBe('CutoverAborted');
    // One phrase: the abort's own words, not wrapped in a second "aborted at batch 2/4".
    expect(f.message.replace(/^cutover of svc-\d+ /, '')).toBe(
      'aborted by ann at batch 2/4 "managers": support calls; restored 300 users of managers, 1000 users of IT department to their prior routes; later batches will not start',
    );
    expect(w.restored).toEqual([1, 0]);
    expect(w.onNew.size).toBe(0);
    expect(out.status.batches.map((b) => b.state)).toEqual([
      'rolled-back',
      'rolled-back',
      'not-started',
      'not-started',
    ]);
  });
});

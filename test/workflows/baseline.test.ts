import { Worker } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { performanceBaselineWorkflow } from '../../src/workflows';
import type { ChunkResult, SampleChunkInput, SummarizeBaselineInput } from '../../src/activities/baseline';
import type { Baseline } from '../../src/domain/baseline/baseline';
import type { Notification } from '../../src/domain/notification';
import { OpsflowPhase, OpsflowService } from '../../src/domain/search-attributes';
import { abortSignal, statusQuery } from '../../src/workflows/baseline/messages';

/**
 * The workflow's orchestration on the time-skipping server, the activities answering as the real
 * ones would (counts per chunk, a baseline from the summary), so that the window's shape and the
 * history's size are what is tested: the sampling itself is tested against real systems elsewhere.
 */
describe('performanceBaselineWorkflow (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await timeSkippingEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  interface Calls {
    chunks: SampleChunkInput[];
    summaries: SummarizeBaselineInput[];
    sent: Notification[];
  }
  const baselineOf = (i: SummarizeBaselineInput): Baseline => ({
    service: i.service,
    workflowId: i.workflowId,
    runId: i.runId,
    window: i.window,
    complete: i.partial === undefined,
    ...(i.partial ? { partial: i.partial } : {}),
    minimums: i.minimums,
    groups: i.groups.map((g) => ({
      group: g.id,
      kind: g.kind,
      samples: 360,
      statistics: {},
      rates: {},
      thresholds: g.kind === 'http' ? { p95Ms: { warning: 150, critical: 200 } } : {},
    })),
  });

  async function worker(queue: string, calls: Calls, chunk: (i: SampleChunkInput) => Promise<ChunkResult>) {
    return Worker.create({
      connection: env.nativeConnection,
      taskQueue: queue,
      workflowBundle: await workflowBundle(),
      activities: {
        sampleBaselineChunk: async (i: SampleChunkInput) => {
          calls.chunks.push(i);
          return chunk(i);
        },
        summarizeBaseline: async (i: SummarizeBaselineInput) => {
          calls.summaries.push(i);
          return baselineOf(i);
        },
        notify: async (n: Notification) => {
          calls.sent.push(n);
          return { notifier: n.notifier, status: 200 };
        },
      },
    });
  }
  const counts = (i: SampleChunkInput): ChunkResult => ({
    group: i.group.id,
    from: i.from,
    until: i.until,
    recorded: i.until - i.from,
    missed: 0,
    ...(i.group.kind === 'http' ? { requests: (i.until - i.from) * i.requestsPerSample, errors: 0 } : {}),
  });
  const input = {
    service: 'checkout',
    groups: { host: true, http: ['web-a', 'web-b', 'web-c'], postgres: ['main'], redis: ['cache'] },
    duration: '60m',
    interval: '10s',
    notify: ['ops'],
  };

  test('60 min at 10 s, six groups in parallel: 12 chunks each covering all 360 ticks, history bounded, report sent', async () => {
    const calls: Calls = { chunks: [], summaries: [], sent: [] };
    const w = await worker('bl-full', calls, async (i) => counts(i));
    const handle = await env.client.workflow.start(performanceBaselineWorkflow, {
      taskQueue: 'bl-full',
      workflowId: `bl-full-${Date.now()}`,
      args: [input],
    });
    const [result, status] = await w.runUntil(
      async () => [await handle.result(), await handle.query(statusQuery)] as const,
    );

    const groups = ['host', 'http:web-a', 'http:web-b', 'http:web-c', 'postgres:main', 'redis:cache'];
    for (const g of groups) {
      const mine = calls.chunks.filter((c) => c.group.id === g);
      expect(mine).toHaveLength(12);
      expect(mine.map((c) => [c.from, c.until])).toEqual(Array.from({ length: 12 }, (_, k) => [k * 30, k * 30 + 30]));
      expect(new Set(mine.map((c) => c.windowStart)).size).toBe(1);
    }
    expect(calls.chunks[0].intervalMs).toBe(10_000);
    expect(calls.summaries).toHaveLength(1);
    expect(calls.summaries[0].partial).toBeUndefined();
    expect(calls.summaries[0]).toMatchObject({ service: 'checkout', minimums: { samples: 30, requests: 100 } });
    expect(result.baseline.complete).toBe(true);
    expect(result.report).toContain('# Performance baseline: checkout');
    expect(calls.sent).toEqual([
      expect.objectContaining({
        notifier: 'ops',
        severity: 'info',
        text: result.report,
        title: 'Performance baseline of checkout',
      }),
    ]);
    expect(result.notified).toEqual(['ops']);

    const events = (await handle.fetchHistory()).events!.length;
    // 72 chunk activities (3 events each) and their workflow tasks: far from 6 × 360 samples.
    expect(events).toBeLessThanOrEqual(800);
    expect(status.phase).toBe('done');
    expect(status.groups.map((g) => [g.group, g.state, g.ticksDone, g.recorded])).toEqual(
      groups.map((g) => [g, 'done', 360, 360]),
    );
    expect(status.groups[1].requests).toBe(1080);
    const sa = (await handle.describe()).typedSearchAttributes;
    expect(sa.get(OpsflowService)).toBe('checkout');
    expect(sa.get(OpsflowPhase)).toBe('done');
  });

  test('abort: sampling stops, what was measured is summarised as partial naming who and why, the run completes partial', async () => {
    const calls: Calls = { chunks: [], summaries: [], sent: [] };
    let release!: () => void;
    const firstChunksDone = new Promise<void>((r) => (release = r));
    const w = await worker('bl-abort', calls, async (i) => {
      if (i.from === 0) return counts(i);
      release();
      // The second chunk samples until cancelled, heartbeating as the real one does.
      const ctx = Context.current();
      for (let k = 0; k < 600; k++) {
        ctx.heartbeat({ nextTick: i.from });
        await ctx.sleep(100);
      }
      throw new Error('never cancelled');
    });
    const handle = await env.client.workflow.start(performanceBaselineWorkflow, {
      taskQueue: 'bl-abort',
      workflowId: `bl-abort-${Date.now()}`,
      args: [{ service: 'checkout', groups: { http: ['web'] }, duration: '60m', interval: '10s' }],
    });
    const [result, status] = await w.runUntil(async () => {
      await firstChunksDone;
      await handle.signal(abortSignal, { by: 'ann', reason: 'deploy incoming' });
      return [await handle.result(), await handle.query(statusQuery)] as const;
    });
    expect(calls.summaries[0].partial).toBe('aborted by ann while sampling: deploy incoming');
    expect(result.baseline.complete).toBe(false);
    expect(status.phase).toBe('partial');
    expect(status.groups.map((g) => [g.group, g.state, g.ticksDone])).toEqual([
      ['host', 'stopped', 30],
      ['http:web', 'stopped', 30],
    ]);
    expect(status.decisions).toContain('abort received from ann: deploy incoming');
    expect((await handle.describe()).typedSearchAttributes.get(OpsflowPhase)).toBe('partial');
  });

  test('bad config (a non-retryable chunk failure) fails the run naming it', async () => {
    const calls: Calls = { chunks: [], summaries: [], sent: [] };
    const w = await worker('bl-bad', calls, async (i) => {
      if (i.group.kind === 'redis')
        throw ApplicationFailure.nonRetryable('unknown redis target "nope" (groups.redis: nope)', 'UnknownTarget');
      return counts(i);
    });
    const handle = await env.client.workflow.start(performanceBaselineWorkflow, {
      taskQueue: 'bl-bad',
      workflowId: `bl-bad-${Date.now()}`,
      args: [{ service: 'checkout', groups: { redis: ['nope'] }, duration: '1m', interval: '10s' }],
    });
    // Queries need the worker: everything is asked while it runs.
    const [err, status] = await w.runUntil(
      async () => [await handle.result().catch((e) => e), await handle.query(statusQuery)] as const,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause?.message).toBe(
      'baseline of checkout failed while sampling: unknown redis target "nope" (groups.redis: nope)',
    );
    expect(calls.summaries).toHaveLength(0);
    expect(status.phase).toBe('failed');
  });

  test('bad input fails at once naming the field', async () => {
    const calls: Calls = { chunks: [], summaries: [], sent: [] };
    const w = await worker('bl-input', calls, async (i) => counts(i));
    const handle = await env.client.workflow.start(performanceBaselineWorkflow, {
      taskQueue: 'bl-input',
      workflowId: `bl-input-${Date.now()}`,
      args: [{ service: 'checkout', interval: '1m', duration: '10s' } as any],
    });
    const err = await w.runUntil(handle.result().catch((e) => e));
    expect((err as WorkflowFailedError).cause?.message).toBe(
      'invalid performanceBaselineWorkflow input:\nduration: must be at least one interval long',
    );
    expect(calls.chunks).toHaveLength(0);
  });
});

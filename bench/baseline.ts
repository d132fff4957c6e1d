import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { timeSkippingEnv } from '../test/helpers/temporal';
import type { ChunkResult, SampleChunkInput, SummarizeBaselineInput } from '../src/activities/baseline';
import type { Baseline } from '../src/domain/baseline/baseline';
import { sampledGroups, baselineInput } from '../src/domain/baseline/input';

/**
 * History events and worker memory of a 60-minute baseline at 10 s on the time-skipping server
 * (host, three URLs, PostgreSQL, Redis), against the naive design: one activity per sample per
 * metric and one timer per tick. Activities answer at once with counts (the real sampling is
 * measured by the e2e tests), so what is measured is what the workflow puts in history.
 * Target: ≤ 800 events.
 *
 *   npm run bench -- baseline
 */
export async function main() {
  const input = {
    service: 'checkout',
    groups: { host: true, http: ['web-a', 'web-b', 'web-c'], postgres: ['main'], redis: ['cache'] },
    duration: '60m',
    interval: '10s',
  };
  const plan = baselineInput.parse(input);
  const groups = sampledGroups(plan.groups);
  const metricsOf: Record<string, string[]> = {
    host: ['cpuPercent', 'memoryPercent', 'diskIo'],
    http: ['responseTimeMs', 'error', 'throughput'],
    postgres: ['connections', 'databaseSize', 'cacheHitRatio'],
    redis: ['clients', 'usedMemory', 'keyspaceHitRate'],
  };
  const metrics = groups.flatMap((g) => metricsOf[g.kind].map((m) => [g.id, m] as [string, string]));
  const env = await timeSkippingEnv();
  try {
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('./workflows/baseline-naive'),
      logger: new DefaultLogger('WARN'),
    });
    const activities = {
      sampleBaselineChunk: async (i: SampleChunkInput): Promise<ChunkResult> => ({
        group: i.group.id,
        from: i.from,
        until: i.until,
        recorded: i.until - i.from,
        missed: 0,
        ...(i.group.kind === 'http' ? { requests: (i.until - i.from) * i.requestsPerSample, errors: 0 } : {}),
      }),
      summarizeBaseline: async (i: SummarizeBaselineInput): Promise<Baseline> => ({
        service: i.service,
        workflowId: i.workflowId,
        runId: i.runId,
        window: i.window,
        complete: true,
        minimums: i.minimums,
        groups: i.groups.map((g) => ({
          group: g.id,
          kind: g.kind,
          samples: 360,
          statistics: {},
          rates: {},
          thresholds: {},
        })),
      }),
      sampleMetric: async () => Math.random() * 100,
    };
    const measure = async (queue: string, start: () => Promise<WorkflowHandle>) => {
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue: queue,
        workflowBundle,
        activities,
        maxCachedWorkflows: 10,
      });
      global.gc?.();
      const before = process.memoryUsage().heapUsed;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 50);
      const started = performance.now();
      const events = await worker.runUntil(async () => {
        const handle = await start();
        await handle.result();
        return (await handle.fetchHistory()).events!.length;
      });
      clearInterval(sampler);
      return { events, seconds: (performance.now() - started) / 1000, heapGrowthMb: (peak - before) / 2 ** 20 };
    };
    const ours = await measure('bench-baseline', () =>
      env.client.workflow.start('performanceBaselineWorkflow', {
        taskQueue: 'bench-baseline',
        workflowId: `bench-baseline-${Date.now()}`,
        args: [input],
      }),
    );
    const naive = await measure('bench-naive', () =>
      env.client.workflow.start('naiveBaselineWorkflow', {
        taskQueue: 'bench-naive',
        workflowId: `bench-naive-${Date.now()}`,
        args: [{ metrics, durationMs: plan.duration, intervalMs: plan.interval }],
      }),
    );
    const row = (name: string, r: typeof ours) =>
      `${name}: ${r.events} history events, worker heap +${r.heapGrowthMb.toFixed(1)} MB at peak, ${r.seconds.toFixed(1)} s wall`;
    console.log(
      `${groups.length} groups (${groups.map((g) => g.id).join(', ')}), ${metrics.length} metrics, 360 ticks`,
    );
    console.log(row('chunked heartbeating activities', ours));
    console.log(row('naive: one activity per sample per metric + one timer per tick', naive));
    console.log('command: npm run bench -- baseline');
    console.log(`baseline: ${ours.events} history events (target ≤ 800)`);
  } finally {
    await env.teardown();
  }
}

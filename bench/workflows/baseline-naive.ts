// Why: the design the baseline bench compares against: one activity per sample per metric and one
// timer per tick, every raw value passing through history (what the issue warns against).
import * as wf from '@temporalio/workflow';

export { performanceBaselineWorkflow } from '../../src/workflows/baseline/workflow';

const { sampleMetric } = wf.proxyActivities<{ sampleMetric(group: string, metric: string): Promise<number> }>({
  startToCloseTimeout: '30s',
});

export async function naiveBaselineWorkflow(input: {
  metrics: [string, string][];
  durationMs: number;
  intervalMs: number;
}): Promise<number> {
  const values: number[] = [];
  for (let t = 0; t < Math.floor(input.durationMs / input.intervalMs); t++) {
    values.push(...(await Promise.all(input.metrics.map(([g, m]) => sampleMetric(g, m)))));
    await wf.sleep(input.intervalMs);
  }
  return values.length;
}

// Why: watching a batch's window (one timer and one sample of the cohort's own metrics per
// interval, holds for a person, continue-as-new) is the cutover's longest stretch.
import * as wf from '@temporalio/workflow';
import { describeGateResult, evaluateGate, type MetricName, type Sample } from '../../domain/gate/evaluate';
import { formatDuration } from '../../domain/duration';
import { continueAsNewWith, historyIsLong } from '../common/continue-as-new';
import { failureMessage } from '../common/failure';
import { withSummary } from '../common/progress';
import { acts, sampleOptions } from './options';
import { notify, setBatch, setState, Stop, type Cutover } from './steps';
import type { UserCutoverInputRaw } from '../../domain/cutover/input';
import type { CutoverCarry, CutoverStatus } from './state';

/** userCutoverWorkflow's signature, to continue as new with (its module imports this one). */
type UserCutoverWorkflow = (raw: UserCutoverInputRaw, carried?: CutoverCarry) => Promise<CutoverStatus>;

/** Samples carry the batch's start, for sources that count since then (postgres-count). */
const SAMPLE_SINCE_BATCH_START = 'cutover-sample-since-batch-start';

/** The batch's gate, limited to what the sources report (the plan's notes say what was left out). */
function gateOf(c: Cutover, i: number) {
  const full = c.run.gate(i);
  return Object.fromEntries(Object.entries(full).filter(([m]) => c.plan?.providers[m as MetricName])) as typeof full;
}

/** Batch `i`'s window; a failed gate, an expired hold or an abort throws a Stop. */
export async function watchBatch(c: Cutover, raw: UserCutoverInputRaw, i: number, resumedAt = 0): Promise<void> {
  const { run } = c;
  const { input } = run;
  const b = run.status.batches[i];
  const interval = run.interval(i);
  const gate = gateOf(c, i);
  const since = b.startedAt !== undefined && wf.patched(SAMPLE_SINCE_BATCH_START) ? { since: b.startedAt } : {};
  run.beginWindow(i, resumedAt);
  setBatch(c, i, 'monitoring');
  setState(c, 'monitoring');
  for (;;) {
    const k = b.samplesTaken + 1;
    await wf.condition(() => run.controls.aborted !== undefined, interval, {
      summary: `${run.label(i)}: wait ${formatDuration(interval)} for sample ${k}/${b.samplesPlanned}`,
    });
    checkAbort(c, i);
    let s: Sample;
    try {
      s = await acts.sampleCohortMetrics.executeWithOptions(
        withSummary(sampleOptions, `${run.label(i)}: sample ${k}/${b.samplesPlanned} of the cohort's metrics`),
        [{ service: input.service, cohort: input.batches[i].name, ...since, sources: input.metricSources }],
      );
    } catch (err) {
      const why = `sampling failed: ${failureMessage(err)}`;
      s = {
        at: new Date().toISOString(),
        readings: Object.keys(gate).map((metric) => ({
          metric: metric as MetricName,
          source: '(sampling)',
          inconclusive: why,
        })),
      };
    }
    const result = evaluateGate(gate, s);
    const action = run.countSample(i, k, s.at, result);
    c.progress.show();
    if (result.verdict !== 'pass')
      run.decide(`${run.label(i)} sample ${k}/${b.samplesPlanned}: ${describeGateResult(result)}`);
    if (action === 'rollback') {
      const f = result.failures[0];
      throw new Stop('gate', `${describeGateResult(result)}${run.gateOrigin(i)}`, {
        metric: f.metric,
        value: f.value,
        max: f.max,
        source: f.source,
      });
    }
    if (action === 'hold') await hold(c, i);
    checkAbort(c, i);
    if (run.windowOver(i, k, result.verdict)) return;
    if (historyIsLong(input.maxHistoryEvents)) {
      run.decide('history is long: continuing as new with the same state');
      await continueAsNewWith<UserCutoverWorkflow>(raw, run.carry({ batch: i, samplesTaken: k }));
    }
  }
}

export function checkAbort({ run }: Cutover, i: number): void {
  const msg = run.controls.abortMessage(`at ${run.label(i)}`);
  if (msg) throw new Stop('abort', msg);
}

/** Too many inconclusive samples: hold for a person; nobody in time rolls the batch back. */
async function hold(c: Cutover, i: number): Promise<void> {
  const { run } = c;
  const timeout = formatDuration(run.input.holdTimeout);
  setBatch(c, i, 'held');
  setState(c, 'held');
  const why = `${run.status.counters.consecutiveInconclusive} inconclusive samples in a row`;
  run.decide(`${run.label(i)} held: ${why}; resume or abort within ${timeout}, or it rolls back`);
  await notify(
    c,
    `held-${i + 1}-${run.status.counters.totalInconclusive}`,
    'warning',
    `Cutover of ${run.input.service} held at ${run.label(i)}: metrics inconclusive`,
    `${why}. Signal resume or abort within ${timeout}; after that the batch rolls back.`,
    { batch: run.input.batches[i].name },
  );
  const answered = await run.controls.waitForResume(run.input.holdTimeout, {
    summary: `${run.label(i)} held for a person: rollback in ${timeout}`,
  });
  checkAbort(c, i);
  if (!answered) throw new Stop('hold-expired', `held for ${timeout} after ${why} and nobody resumed`);
  run.status.counters.consecutiveInconclusive = 0;
  setBatch(c, i, 'monitoring');
  setState(c, 'monitoring');
}

// Why: a batch's window (one watched interval of the cohort's own metrics per sample, ended early
// when a failure is conclusive) is the common gated window (common/gate-window.ts) in the cutover's
// words and status.
import * as wf from '@temporalio/workflow';
import { describeGateResult, type MetricName } from '../../domain/gate/evaluate';
import { formatDuration } from '../../domain/duration';
import { continueAsNewWith } from '../common/continue-as-new';
import { sampleOrDoubt, Stop, watchGateWindow, watchInterval, type WatchedJudged } from '../common/gate-window';
import { withSummary } from '../common/progress';
import { acts, sampleOptions } from './activities';
import { notify, setBatch, setState, type Cutover } from './steps';
import type { UserCutoverInputRaw } from '../../domain/cutover/input';
import type { CutoverCarry, CutoverStatus } from './status';

/** userCutoverWorkflow's signature, to continue as new with (its module imports this one). */
type UserCutoverWorkflow = (raw: UserCutoverInputRaw, carried?: CutoverCarry) => Promise<CutoverStatus>;

/** Patch id: runs recorded before it waited a timer, then took one sample; now one activity watches the interval. */
const WATCH_INTERVAL = 'cutover-watch-interval';

/** Samples carry the batch's start, for sources that count since then (postgres-count). */
const SAMPLE_SINCE_BATCH_START = 'cutover-sample-since-batch-start';

/** The batch's gate, limited to what the sources report (the plan's notes say what was left out). */
function gateOf(cutover: Cutover, i: number) {
  const full = cutover.run.gate(i);
  return Object.fromEntries(
    Object.entries(full).filter(([m]) => cutover.plan?.providers[m as MetricName]),
  ) as typeof full;
}

/** Batch `i`'s window; a failed gate, an expired hold or an abort throws a Stop. */
export async function watchBatch(cutover: Cutover, raw: UserCutoverInputRaw, i: number, resumedAt = 0): Promise<void> {
  const { run } = cutover;
  const { input } = run;
  const batch = run.status.batches[i];
  const interval = run.interval(i);
  const gate = gateOf(cutover, i);
  const since = batch.startedAt !== undefined && wf.patched(SAMPLE_SINCE_BATCH_START) ? { since: batch.startedAt } : {};
  const scope = { service: input.service, cohort: input.batches[i].name, ...since, sources: input.metricSources };
  const of = (k: number) => `${k}/${batch.samplesPlanned}`;
  run.beginWindow(i, resumedAt);
  setBatch(cutover, i, 'monitoring');
  setState(cutover, 'monitoring');
  await watchGateWindow({
    run,
    taken: () => batch.samplesTaken,
    wait: async (k) => {
      if (wf.patched(WATCH_INTERVAL)) {
        const watched = await watchInterval(
          gate,
          () =>
            acts.watchCohortMetrics.executeWithOptions(
              withSummary(
                // A healthy interval is watched to its end, and one with too few answers once more.
                { ...sampleOptions, startToCloseTimeout: 2 * interval + 120_000, heartbeatTimeout: '10s' },
                `${run.label(i)}: watch ${formatDuration(interval)} for sample ${of(k)} of the cohort's metrics`,
              ),
              [{ ...scope, gate, durationMs: interval }],
            ),
          () => run.controls.aborted !== undefined,
        );
        if (watched === 'interrupted') return undefined; // the window's checkAbort stops it
        if (watched.early) run.decide(`${run.label(i)} sample ${of(k)} ended early: ${watched.early}`);
        return watched;
      }
      await wf.condition(() => run.controls.aborted !== undefined, interval, {
        summary: `${run.label(i)}: wait ${formatDuration(interval)} for sample ${of(k)}`,
      });
      return undefined;
    },
    sample: (k) =>
      sampleOrDoubt(gate, () =>
        acts.sampleCohortMetrics.executeWithOptions(
          withSummary(sampleOptions, `${run.label(i)}: sample ${of(k)} of the cohort's metrics`),
          [scope],
        ),
      ),
    count: (k, { sample, result, early }: WatchedJudged) => {
      const action = run.countSample(i, k, sample.at, result, early);
      cutover.progress.show();
      return action;
    },
    sampleName: (k) => `${run.label(i)} sample ${of(k)}`,
    checkAbort: () => checkAbort(cutover, i),
    gateStop: (result) => {
      const { metric, value, max, source } = result.failures[0];
      return new Stop('gate', `${describeGateResult(result)}${run.gateOrigin(i)}`, result, {
        metric,
        value,
        max,
        source,
      });
    },
    ends: (k, verdict) => run.windowOver(i, k, verdict),
    continueAsNew: (k) => continueAsNewWith<UserCutoverWorkflow>(raw, run.carry({ batch: i, samplesTaken: k })),
    hold: {
      enter: (state) => {
        setBatch(cutover, i, state);
        setState(cutover, state);
      },
      reason: () => run.holdReason(),
      words: (why, timeout) => ({
        decision: `${run.label(i)} held: ${why}; resume or abort within ${timeout}, or it rolls back`,
        summary: `${run.label(i)} held for a person: rollback in ${timeout}`,
      }),
      notify: (why, timeout) =>
        notify(
          cutover,
          `held-${i + 1}-${run.status.counters.totalInconclusive}`,
          'warning',
          `Cutover of ${input.service} held at ${run.label(i)}: metrics inconclusive`,
          `${why}. Signal resume or abort within ${timeout}; after that the batch rolls back.`,
          { batch: input.batches[i].name },
        ),
      answered: () => run.holdAnswered(),
    },
  });
}

/**
 * Throws the abort as a Stop, if one came. `started`: batch `i` has begun (its listing); until then
 * the abort is said to come before it, as a rollout's before its step: "at batch 2/4" read as if
 * batch 2 had run.
 */
export function checkAbort({ run }: Cutover, i: number, started = true): void {
  const msg = run.controls.abortMessage(started ? `at ${run.label(i)}` : `before ${run.label(i)} started`);
  if (msg) throw new Stop('abort', msg);
}

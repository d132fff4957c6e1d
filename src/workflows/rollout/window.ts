// Why: watching a step's window (one watched interval per sample, holds for a person,
// promote, continue-as-new) is the rollout's longest stretch; it gets its own module.
import * as wf from '@temporalio/workflow';
import {
  describeGateResult,
  evaluateGate,
  type GateResult,
  type MetricName,
  type Sample,
} from '../../domain/gate/evaluate';
import { formatDuration } from '../../domain/rollout/input';
import { historyIsLong, continueAsNewWith } from '../common/continue-as-new';
import { failureMessage } from '../common/failure';
import { withSummary } from '../common/progress';
import { acts, sampleOptions } from './options';
import { notify, setState, type Rollout } from './steps';
import { Stop, type RolloutCarry, type RolloutResult } from './status';
import type { PhasedRolloutInputRaw } from '../../domain/rollout/input';

/** phasedRolloutWorkflow's signature, to continue as new with (its module imports this one). */
type PhasedRolloutWorkflow = (raw: PhasedRolloutInputRaw, carried?: RolloutCarry) => Promise<RolloutResult>;

/** Sample `k` of `planned` at step `i`, judged by the plan's gate; one that cannot be taken is doubt, never a pass. */
async function sample({ run }: Rollout, i: number, k: number, planned: number): Promise<GateResult> {
  const { input, status } = run;
  let s: Sample;
  try {
    s = await acts.sampleRolloutMetrics.executeWithOptions(
      withSummary(sampleOptions, `${run.stepLabel(i)}: sample ${k}/${planned} from ${input.metricSources.join(', ')}`),
      [{ service: input.service, sources: input.metricSources }],
    );
  } catch (err) {
    const why = `sampling failed: ${failureMessage(err)}`;
    s = {
      at: new Date().toISOString(),
      readings: Object.keys(status.plan!.gate).map((metric) => ({
        metric: metric as MetricName,
        source: '(sampling)',
        inconclusive: why,
      })),
    };
  }
  const result = evaluateGate(status.plan!.gate, s);
  run.recordSample(i, k, s, result);
  return result;
}

/** Patch id: runs recorded before it waited a timer, then took one sample; now one activity watches the interval. */
const WATCH_INTERVAL = 'rollout-watch-interval';

/**
 * Sample `k`: the interval watched by one activity that ends early when the failure is conclusive.
 * An abort or a promote cancels the watch; a promote then takes one quick sample to judge by.
 * Returns undefined when interrupted by an abort (the caller checks it).
 */
async function watch(r: Rollout, i: number, k: number, planned: number): Promise<GateResult | undefined> {
  const { run } = r;
  const { input, status } = run;
  const gate = status.plan!.gate;
  const interval = formatDuration(input.sampleInterval);
  const scope = new wf.CancellationScope();
  let outcome: { sample: Sample } | { failed: unknown } | 'interrupted';
  try {
    outcome = await scope.run(() =>
      Promise.race([
        acts.watchRolloutMetrics
          .executeWithOptions(
            withSummary(
              // A healthy interval is watched to its end, and one with too few answers once more.
              { ...sampleOptions, startToCloseTimeout: 2 * input.sampleInterval + 120_000, heartbeatTimeout: '10s' },
              `${run.stepLabel(i)}: watch ${interval} for sample ${k}/${planned} from ${input.metricSources.join(', ')}${status.paused ? ' (paused)' : ''}`,
            ),
            [{ service: input.service, sources: input.metricSources, gate, durationMs: input.sampleInterval }],
          )
          .then(
            (sample) => ({ sample }),
            (failed: unknown) => ({ failed }),
          ),
        wf.condition(() => run.controls.aborted !== undefined || run.promotePending).then(() => 'interrupted' as const),
      ]),
    );
  } finally {
    // Whichever lost the race: the watch stops probing, the condition stops being checked. A scope
    // the run's own cancel reached is not cancelled twice (a second request for the same activity).
    if (!scope.consideredCancelled) scope.cancel();
  }
  // The run itself was cancelled: that is the rollout's to handle (it rolls back), not a sample.
  if (typeof outcome === 'object' && 'failed' in outcome && wf.isCancellation(outcome.failed)) throw outcome.failed;
  if (outcome === 'interrupted') {
    run.checkAbort(`at ${run.stepLabel(i)}`);
    return undefined;
  }
  const s: Sample =
    'sample' in outcome
      ? outcome.sample
      : {
          at: new Date().toISOString(),
          readings: Object.keys(gate).map((metric) => ({
            metric: metric as MetricName,
            source: '(sampling)',
            inconclusive: `sampling failed: ${failureMessage(outcome.failed)}`,
          })),
        };
  const result = evaluateGate(gate, s);
  run.recordSample(i, k, s, result);
  const early = (s as { early?: string }).early;
  if (early) run.decide(`sample ${k}/${planned} ended early: ${early}`);
  return result;
}

/** Holds for a person after too many inconclusive samples; rolls back when nobody comes in time. */
async function hold(r: Rollout, i: number): Promise<void> {
  const { run } = r;
  const { input, status } = run;
  setState(r, 'held');
  const why = run.holdReason(i);
  const timeout = formatDuration(input.holdTimeout);
  run.decide(`held: ${why}; resume or abort within ${timeout}, or it rolls back`);
  await notify(
    r,
    `held-${i + 1}-${status.counters.totalInconclusive}`,
    'warning',
    `Rollout of ${input.service} held: metrics inconclusive`,
    `${why}. Last: ${status.lastSamples.at(-1)?.summary}. Signal resume or abort within ${timeout}; after that it rolls back.`,
    { step: i + 1 },
  );
  const answered = await run.controls.waitForResume(input.holdTimeout, {
    summary: `held for a person (${why}): rollback in ${timeout}`,
  });
  run.checkAbort(`at ${run.stepLabel(i)} while held`);
  if (!answered) throw new Stop('hold-expired', `held for ${timeout} after ${why} and nobody resumed`);
  run.holdAnswered();
  setState(r, 'monitoring');
}

/**
 * Step `i`'s window: one watched interval per sample until it may end, a person promotes
 * it, or it must stop (a Stop is thrown). A long history continues as new mid-window.
 */
export async function watchWindow(
  r: Rollout,
  raw: PhasedRolloutInputRaw,
  i: number,
  carried?: RolloutCarry,
): Promise<void> {
  const { run } = r;
  const { input, status } = run;
  const planned = run.samplesPlanned(i);
  const startedAt = carried?.windowStartedAt ?? new Date().toISOString();
  run.beginWindow(i, carried?.samplesTaken ?? 0, startedAt);
  setState(r, 'monitoring');
  for (;;) {
    const k = status.window!.samplesTaken + 1;
    let watched: GateResult | undefined;
    if (wf.patched(WATCH_INTERVAL)) {
      watched = await watch(r, i, k, planned);
    } else {
      await wf.condition(() => run.controls.aborted !== undefined || run.promotePending, input.sampleInterval, {
        summary: `${run.stepLabel(i)}: wait ${formatDuration(input.sampleInterval)} for sample ${k}/${planned}${status.paused ? ' (paused)' : ''}`,
      });
    }
    run.checkAbort(`at ${run.stepLabel(i)}`);
    const promote = run.takePromote();
    const result = watched ?? (await sample(r, i, k, planned));
    const last = result.verdict;
    const action = run.countSample(k, result.verdict);
    setState(r, status.state);
    if (result.verdict !== 'pass') run.decide(`sample ${k}/${planned}: ${describeGateResult(result)}`);
    if (action === 'rollback') {
      throw new Stop(
        'gate',
        `${status.counters.consecutiveFailures} failed sample(s) in a row: ${describeGateResult(result)}`,
        result,
      );
    }
    if (action === 'hold') await hold(r, i);
    run.checkAbort(`at ${run.stepLabel(i)}`);
    if (promote && run.promoteAccepted(k, planned, last)) return;
    if (run.windowPassed(i, k, planned, last)) return;
    if (historyIsLong(input.maxHistoryEvents)) {
      run.decide('history is long: continuing as new with the same state');
      await continueAsNewWith<PhasedRolloutWorkflow>(raw, run.carry(i, k, startedAt));
    }
  }
}

/** A dry run's window: one sample now, and what the rollout would do with it. */
export async function dryRunWindow(r: Rollout, i: number): Promise<void> {
  const { run } = r;
  const { input, status } = run;
  const planned = run.samplesPlanned(i);
  status.actions.push(
    `would watch ${formatDuration(input.steps[i].window)}: ${planned} samples every ${formatDuration(input.sampleInterval)}, gate ${JSON.stringify(status.plan!.gate)}`,
  );
  const result = await sample(r, i, 1, planned);
  status.actions.push(
    `${run.stepLabel(i)}: metrics now: ${describeGateResult(result)} → would ${result.verdict === 'fail' ? 'roll back' : result.verdict === 'pass' ? 'continue' : 'count it inconclusive'}`,
  );
  if (result.verdict === 'fail') throw new Stop('gate', describeGateResult(result), result);
}

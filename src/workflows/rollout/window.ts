// Why: a step's window (one watched interval per sample, promote) is the common gated window
// (common/gate-window.ts) in the rollout's words and status; it gets its own module.
import * as wf from '@temporalio/workflow';
import { describeGateResult } from '../../domain/gate/evaluate';
import { formatDuration } from '../../domain/rollout/input';
import { continueAsNewWith } from '../common/continue-as-new';
import { sampleOrDoubt, Stop, watchGateWindow, watchInterval, type Judged } from '../common/gate-window';
import { withSummary } from '../common/progress';
import { acts, sampleOptions } from './activities';
import { notify, setState, type Rollout } from './steps';
import type { RolloutCarry, RolloutResult } from './status';
import type { PhasedRolloutInputRaw } from '../../domain/rollout/input';

/** phasedRolloutWorkflow's signature, to continue as new with (its module imports this one). */
type PhasedRolloutWorkflow = (raw: PhasedRolloutInputRaw, carried?: RolloutCarry) => Promise<RolloutResult>;

/** Sample `k` of `planned` at step `i`, judged by the plan's gate; one that cannot be taken is doubt, never a pass. */
async function sample({ run }: Rollout, i: number, k: number, planned: number): Promise<Judged> {
  const { input, status } = run;
  const taken = await sampleOrDoubt(status.plan!.gate, () =>
    acts.sampleRolloutMetrics.executeWithOptions(
      withSummary(sampleOptions, `${run.stepLabel(i)}: sample ${k}/${planned} from ${input.metricSources.join(', ')}`),
      [{ service: input.service, sources: input.metricSources }],
    ),
  );
  run.recordSample(i, k, taken.sample, taken.result);
  return taken;
}

/** Patch id: runs recorded before it waited a timer, then took one sample; now one activity watches the interval. */
const WATCH_INTERVAL = 'rollout-watch-interval';

/**
 * Sample `k`: the interval watched by one activity that ends early when the failure is conclusive.
 * An abort or a promote cancels the watch; a promote then takes one quick sample to judge by.
 * Returns undefined when interrupted by an abort (the caller checks it).
 */
async function watch(rollout: Rollout, i: number, k: number, planned: number): Promise<Judged | undefined> {
  const { run } = rollout;
  const { input, status } = run;
  const gate = status.plan!.gate;
  const interval = formatDuration(input.sampleInterval);
  const taken = await watchInterval(
    gate,
    () =>
      acts.watchRolloutMetrics.executeWithOptions(
        withSummary(
          // A healthy interval is watched to its end, and one with too few answers once more.
          { ...sampleOptions, startToCloseTimeout: 2 * input.sampleInterval + 120_000, heartbeatTimeout: '10s' },
          `${run.stepLabel(i)}: watch ${interval} for sample ${k}/${planned} from ${input.metricSources.join(', ')}${status.paused ? ' (paused)' : ''}`,
        ),
        [{ service: input.service, sources: input.metricSources, gate, durationMs: input.sampleInterval }],
      ),
    () => run.controls.aborted !== undefined || run.promotePending,
  );
  if (taken === 'interrupted') {
    run.checkAbort(`at ${run.stepLabel(i)}`);
    return undefined;
  }
  run.recordSample(i, k, taken.sample, taken.result);
  if (taken.early) run.decide(`sample ${k}/${planned} ended early: ${taken.early}`);
  return taken;
}

/**
 * Step `i`'s window: one watched interval per sample until it may end, a person promotes
 * it, or it must stop (a Stop is thrown). A long history continues as new mid-window.
 */
export async function watchWindow(
  rollout: Rollout,
  raw: PhasedRolloutInputRaw,
  i: number,
  carried?: RolloutCarry,
): Promise<void> {
  const { run } = rollout;
  const { input, status } = run;
  const planned = run.samplesPlanned(i);
  const startedAt = carried?.windowStartedAt ?? new Date().toISOString();
  run.beginWindow(i, carried?.samplesTaken ?? 0, startedAt);
  setState(rollout, 'monitoring');
  await watchGateWindow({
    run,
    taken: () => status.window!.samplesTaken,
    wait: async (k) => {
      if (wf.patched(WATCH_INTERVAL)) return watch(rollout, i, k, planned);
      await wf.condition(() => run.controls.aborted !== undefined || run.promotePending, input.sampleInterval, {
        summary: `${run.stepLabel(i)}: wait ${formatDuration(input.sampleInterval)} for sample ${k}/${planned}${status.paused ? ' (paused)' : ''}`,
      });
      return undefined;
    },
    sample: (k) => sample(rollout, i, k, planned),
    takePromote: () => run.takePromote(),
    count: (k, { result }) => {
      const action = run.countSample(k, result.verdict);
      setState(rollout, status.state);
      return action;
    },
    sampleName: (k) => `sample ${k}/${planned}`,
    checkAbort: (held) => run.checkAbort(`at ${run.stepLabel(i)}${held ? ' while held' : ''}`),
    gateStop: (result) =>
      new Stop(
        'gate',
        `${status.counters.consecutiveFailures} failed sample(s) in a row: ${describeGateResult(result)}`,
        result,
      ),
    ends: (k, verdict, promote) =>
      (promote && run.promoteAccepted(k, planned, verdict)) || run.windowPassed(i, k, planned, verdict),
    continueAsNew: (k) => continueAsNewWith<PhasedRolloutWorkflow>(raw, run.carry(i, k, startedAt)),
    hold: {
      enter: (state) => setState(rollout, state),
      reason: () => run.holdReason(i),
      words: (why, timeout) => ({
        decision: `held: ${why}; resume or abort within ${timeout}, or it rolls back`,
        summary: `held for a person (${why}): rollback in ${timeout}`,
      }),
      notify: (why, timeout) =>
        notify(
          rollout,
          `held-${i + 1}-${status.counters.totalInconclusive}`,
          'warning',
          `Rollout of ${input.service} held: metrics inconclusive`,
          `${why}. Last: ${status.lastSamples.at(-1)?.summary}. Signal resume or abort within ${timeout}; after that it rolls back.`,
          { step: i + 1 },
        ),
      answered: () => run.holdAnswered(),
    },
  });
}

/** A dry run's window: one sample now, and what the rollout would do with it. */
export async function dryRunWindow(rollout: Rollout, i: number): Promise<void> {
  const { run } = rollout;
  const { input, status } = run;
  const planned = run.samplesPlanned(i);
  status.actions.push(
    `would watch ${formatDuration(input.steps[i].window)}: ${planned} samples every ${formatDuration(input.sampleInterval)}, gate ${JSON.stringify(status.plan!.gate)}`,
  );
  const { result } = await sample(rollout, i, 1, planned);
  status.actions.push(
    `${run.stepLabel(i)}: metrics now: ${describeGateResult(result)} → would ${result.verdict === 'fail' ? 'roll back' : result.verdict === 'pass' ? 'continue' : 'count it inconclusive'}`,
  );
  if (result.verdict === 'fail') throw new Stop('gate', describeGateResult(result), result);
}

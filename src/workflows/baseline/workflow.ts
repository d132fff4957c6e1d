// Why: runbooks §5's performance baseline as a workflow: every group sampled in parallel for the
// window, raw ticks kept in PostgreSQL, statistics and thresholds stored and reported.
import * as wf from '@temporalio/workflow';
import {
  baselineInput,
  sampledGroups,
  type BaselineInput,
  type BaselinePlan,
  type SampledGroup,
} from '../../domain/baseline/input';
import { renderBaselineReport, type Baseline } from '../../domain/baseline/baseline';
import { notifyAll } from '../common/notify';
import { OpsflowPhase, OpsflowService } from '../../domain/search-attributes';
import { formatDuration } from '../../domain/duration';
import { parseInput } from '../input';
import { RunEnding } from '../common/ending';
import { failureMessage, isNonRetryable } from '../common/failure';
import { Progress, withSummary } from '../common/progress';
import { acts, chunkOptions, storeOptions } from './activities';
import { installHandlers } from './handlers';
import { BaselineRun, chunkRanges, CHUNKS_PER_WINDOW, minChunkTicks, planWindow, type BaselineWindow } from './state';

/** Chunks of half a minute at least (runs recorded before it sampled short windows tick by tick). */
const BASELINE_MIN_CHUNK = 'opsflow-baseline-min-chunk';

export interface BaselineResult {
  baseline: Baseline;
  /** The readable report (Markdown). */
  report: string;
  notified: string[];
}

/** runbooks §5: sample every group for the window, derive the thresholds, store, report, notify. */
export async function performanceBaselineWorkflow(rawInput: BaselineInput): Promise<BaselineResult> {
  const ending = new RunEnding();
  return ending.run(() => baseline(rawInput, ending));
}

async function baseline(rawInput: BaselineInput, ending: RunEnding): Promise<BaselineResult> {
  const input = parseInput(baselineInput, rawInput, 'performanceBaselineWorkflow');
  const run = new BaselineRun(input.service);
  const progress = new Progress(() => run.details());
  const sampling = new wf.CancellationScope();
  const abort = (reason: string) => {
    run.stop(reason);
    sampling.cancel();
  };
  installHandlers(run, abort, () => progress.show());
  ending.onEnd(({ kind, message }) => {
    const was = run.end(kind, message);
    progress.end([{ key: OpsflowPhase, value: kind }]);
    return `baseline of ${input.service} ${kind} while ${was}`;
  });

  const groups = sampledGroups(input.groups);
  const window = planWindow(input, Date.now());
  run.start(window, groups);
  progress.update([
    { key: OpsflowService, value: input.service },
    { key: OpsflowPhase, value: 'sampling' },
  ]);

  await sampleAll(input, window, groups, run, sampling, progress);
  const result = await summarize(input, window, groups, run, progress);
  await tellAll(input, result, run);
  run.finish();
  progress.phase(run.phase);
  return { ...result, notified: run.status.notified };
}

/**
 * Every group at once, chunk after chunk. An abort cancels `sampling` and the run goes on to a
 * partial summary; a cancellation of the run first stores the partial baseline, then ends cancelled.
 */
async function sampleAll(
  input: BaselinePlan,
  w: BaselineWindow,
  groups: SampledGroup[],
  run: BaselineRun,
  sampling: wf.CancellationScope,
  progress: Progress,
): Promise<void> {
  const chunks = wf.patched(BASELINE_MIN_CHUNK)
    ? chunkRanges(w.ticks, CHUNKS_PER_WINDOW, minChunkTicks(w.intervalMs))
    : chunkRanges(w.ticks);
  const { workflowId, runId } = wf.workflowInfo();
  const sampleGroup = async (g: SampledGroup) => {
    for (const [from, until] of chunks) {
      const summary = `${g.id}: ticks ${from + 1}–${until} of ${w.ticks}`;
      const r = await acts.sampleBaselineChunk.executeWithOptions(chunkOptions(w, until - from, summary), [
        {
          runKey: `${workflowId}/${runId}`,
          group: g,
          windowStart: w.start,
          intervalMs: w.intervalMs,
          from,
          until,
          requestsPerSample: input.requestsPerSample,
        },
      ]);
      run.chunkDone(r);
      progress.show();
    }
  };
  const oneGroup = (g: SampledGroup) =>
    sampleGroup(g).catch((err) => {
      if (wf.isCancellation(err)) return;
      // Bad config (an unknown target, no store) fails the run: no later tick or group would fix it.
      if (isNonRetryable(err)) throw err;
      run.groupFailed(g.id, failureMessage(err));
      progress.show();
    });
  try {
    await sampling.run(() => Promise.all(groups.map(oneGroup)));
  } catch (err) {
    if (!wf.isCancellation(err)) throw err;
  }
  if (wf.CancellationScope.current().consideredCancelled) {
    run.stop(`cancelled after ${elapsed(w)}`);
    await wf.CancellationScope.nonCancellable(() => summarize(input, w, groups, run, progress));
    throw new wf.CancelledFailure(
      `baseline of ${input.service} cancelled after ${elapsed(w)}; the partial baseline is stored`,
    );
  }
}

const elapsed = (w: BaselineWindow) =>
  formatDuration(Math.max(1000, Math.round((Date.now() - Date.parse(w.start)) / 1000) * 1000));

/** The statistics and thresholds, from the stored ticks, stored as this run's baseline. */
async function summarize(
  input: BaselinePlan,
  w: BaselineWindow,
  groups: SampledGroup[],
  run: BaselineRun,
  progress: Progress,
): Promise<Omit<BaselineResult, 'notified'>> {
  run.summarizing();
  progress.phase('summarizing');
  const { workflowId, runId } = wf.workflowInfo();
  const b = await acts.summarizeBaseline.executeWithOptions(
    withSummary(storeOptions, `statistics and thresholds of ${groups.length} groups`),
    [
      {
        runKey: `${workflowId}/${runId}`,
        service: input.service,
        workflowId,
        runId,
        groups,
        window: {
          start: w.start,
          end: new Date(Date.now()).toISOString(),
          durationMs: w.durationMs,
          intervalMs: w.intervalMs,
        },
        minimums: input.minimums,
        partial: run.partialReason(),
      },
    ],
  );
  run.summarized(b);
  progress.show();
  return { baseline: b, report: renderBaselineReport(b) };
}

async function tellAll(input: BaselinePlan, result: Omit<BaselineResult, 'notified'>, run: BaselineRun): Promise<void> {
  if (input.notify.length === 0) return;
  run.notifying();
  const { workflowId, runId } = wf.workflowInfo();
  await notifyAll(input.notify, 'baseline', {
    message: () => ({
      severity: result.baseline.complete ? 'info' : 'warning',
      title: `Performance baseline of ${input.service}${result.baseline.complete ? '' : ' (partial)'}`,
      text: result.report,
      details: { workflowId, runId, complete: result.baseline.complete },
    }),
    summary: (m) => `report to ${m.notifier}`,
    onSent: (m) => run.notified(m.notifier),
  });
}

// Why: the entry of a user cutover, reading like runbooks §3's runbook; its steps live beside it
// (steps, monitor, rollback), its state in state.ts, its handlers in handlers.ts.
import * as wf from '@temporalio/workflow';
import { userCutoverInput, type UserCutoverInputRaw } from '../../domain/cutover/input';
import { scheduleIssues } from '../../domain/cutover/schedule';
import { RunEnding } from '../common/ending';
import { Stop } from '../common/gate-window';
import { continueAsNewWith, historyIsLong } from '../common/continue-as-new';
import { Progress } from '../common/progress';
import { approvalWaitText } from '../../domain/operator-commands';
import { parseInput } from '../input';
import { installHandlers } from './handlers';
import { acts } from './activities';
import { batchFailed, waitForStart } from './rollback';
import { CutoverRun } from './state';
import { cutoverEndStates, type CutoverCarry, type CutoverStatus } from './status';
import { OpsflowState } from '../../domain/search-attributes';
import { checkAbort, watchBatch } from './window';
import { resolveThresholds } from './thresholds';
import {
  move,
  notify,
  requireServiceWorkflowId,
  setState,
  showService,
  skipEmpty,
  snapshot,
  type Cutover,
} from './steps';

/** A batch whose snapshot is empty is skipped: no move, no window, no gap before the next. */
const EMPTY_COHORT_SKIPPED = 'cutover-empty-cohort-skipped';
/**
 * An abort ends a pause before a batch: runs recorded before waited for a resume first, and only
 * then stopped (an operator who paused, then aborted, had to resume a run to stop it).
 */
const ABORT_ENDS_PAUSE = 'cutover-abort-ends-pause';

/**
 * runbooks §3 batched user cutover: per batch, a durable timer until its start, a snapshot of the
 * cohort taken once, every member's prior route recorded, all moved in bulk and read back, the
 * cohort's own metrics watched for the window; a failed gate restores every member's prior route
 * (read back), tells people the batch, metric and value, and stops the plan.
 */
export async function userCutoverWorkflow(raw: UserCutoverInputRaw, carried?: CutoverCarry): Promise<CutoverStatus> {
  const ending = new RunEnding();
  return ending.run(() => userCutover(raw, carried, ending));
}

async function userCutover(
  raw: UserCutoverInputRaw,
  carried: CutoverCarry | undefined,
  ending: RunEnding,
): Promise<CutoverStatus> {
  const input = parseInput(userCutoverInput, raw, 'userCutoverWorkflow');
  const info = wf.workflowInfo();
  const run = new CutoverRun(
    input,
    { originMs: Date.now(), runKey: `${info.workflowId}/${info.firstExecutionRunId}` },
    carried,
  );
  const cutover: Cutover = {
    run,
    progress: new Progress(() => run.details(info.workflowId), {
      key: OpsflowState,
      paused: () => run.status.paused && !cutoverEndStates.includes(run.status.state),
      state: () => run.status.state,
    }),
  };
  installHandlers(run, cutover.progress, ending);
  requireServiceWorkflowId(cutover);

  // ---- plan: the schedule against the start time, every name against the worker's config
  if (!carried) {
    const bad = scheduleIssues(input.batches, run.originMs, run.originMs, input.minGap);
    if (bad.length > 0)
      throw wf.ApplicationFailure.nonRetryable(
        `invalid userCutoverWorkflow input:\n${bad.map((b) => `${b.path.join('.')}: ${b.message}`).join('\n')}`,
        'InvalidInput',
      );
  }
  cutover.plan = await acts.planCutover(input);
  for (const note of cutover.plan.notes) if (!carried) run.decide(note);
  showService(cutover);
  // ---- thresholds from baselines: taken once, before anyone moves; a carried run has them in its status
  if (!carried) await resolveThresholds(cutover);

  // ---- each batch: wait for its start, snapshot, move, watch; a Stop restores and ends the plan
  for (let i = 0; i < input.batches.length; i++) {
    const state = run.status.batches[i].state;
    if (state === 'moved' || state === 'skipped') continue;
    try {
      if (carried?.window?.batch === i) {
        await watchBatch(cutover, raw, i, carried.window.samplesTaken);
      } else {
        if (!(await waitForStart(cutover, i))) continue;
        if (run.needsApproval(i)) {
          run.awaitApproval(i);
          cutover.progress.show();
          const outcome = await run.takeApproval(i, approvalWaitText(run.label(i), info.workflowId));
          run.awaitApproval(undefined);
          if (outcome === 'aborted') checkAbort(cutover, i, false);
        }
        // Asked only when paused here, so runs never paused before a batch record no marker.
        await run.controls.waitWhilePaused(run.controls.paused && wf.patched(ABORT_ENDS_PAUSE));
        checkAbort(cutover, i, false);
        await snapshot(cutover, i);
        checkAbort(cutover, i);
        if (run.status.batches[i].members === 0 && wf.patched(EMPTY_COHORT_SKIPPED)) {
          skipEmpty(cutover, i);
          continue;
        }
        await move(cutover, i);
        await watchBatch(cutover, raw, i);
      }
    } catch (err) {
      if (err instanceof wf.ContinueAsNew) throw err;
      return await batchFailed(
        cutover,
        i,
        err instanceof Stop || wf.isCancellation(err)
          ? err
          : new Stop('error', `unexpected: ${String((err as Error)?.message ?? err)}`),
      );
    }
    run.batchEnded(i, Date.now());
    run.decide(`${run.label(i)} done: ${run.status.batches[i].moved} users stay on the new system`);
    cutover.progress.show();
    if (historyIsLong(input.maxHistoryEvents)) await continueAsNewWith<typeof userCutoverWorkflow>(raw, run.carry());
  }

  // ---- success: every batch moved (or skipped); stakeholders are told
  setState(cutover, 'completed');
  const moved = run.status.batches.reduce((a, b) => a + (b.moved ?? 0), 0);
  await notify(
    cutover,
    'completed',
    'info',
    `Cutover of ${input.service} completed`,
    `${moved} users on the new system in ${run.status.batches.filter((b) => b.state === 'moved').length} batches.`,
    {
      batches: run.status.batches.map((b) => ({ name: b.name, state: b.state, moved: b.moved ?? 0 })),
    },
    input.stakeholders ?? input.notify,
  );
  return run.status;
}

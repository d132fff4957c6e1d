// Why: the entry of a phased rollout, reading like runbooks §1's runbook; the steps it names live
// beside it (steps, window, rollback), its state in state.ts, its handlers in handlers.ts.
import * as wf from '@temporalio/workflow';
import { phasedRolloutInput, type PhasedRolloutInputRaw } from '../../domain/rollout/input';
import { PLAN_BEFORE_SEARCH_ATTRIBUTES, RunEnding } from '../common/ending';
import { Progress } from '../common/progress';
import { OpsflowState } from '../../domain/search-attributes';
import { parseInput } from '../input';
import { installHandlers } from './handlers';
import { stepFailed } from './rollback';
import { RolloutRun } from './state';
import { approve, goLive, plan, requireServiceWorkflowId, shift, showService, startStep, type Rollout } from './steps';
import { endStates, type RolloutCarry, type RolloutResult } from './status';
import { dryRunWindow, watchWindow } from './window';

/**
 * runbooks §1 phased rollout: per step, set the LB split and read it back, then watch a window of one
 * sample and one timer per interval; a failed gate rolls back to 100 % old (read back), tells
 * people which metric and value, and fails the run saying which step, metric and value.
 */
export async function phasedRolloutWorkflow(
  raw: PhasedRolloutInputRaw,
  carried?: RolloutCarry,
): Promise<RolloutResult> {
  const ending = new RunEnding();
  return ending.run(() => phasedRollout(raw, carried, ending));
}

async function phasedRollout(
  raw: PhasedRolloutInputRaw,
  carried: RolloutCarry | undefined,
  ending: RunEnding,
): Promise<RolloutResult> {
  const input = parseInput(phasedRolloutInput, raw, 'phasedRolloutWorkflow');
  const run = new RolloutRun(input, carried);
  const rollout: Rollout = {
    run,
    progress: new Progress(() => run.details(wf.workflowInfo().workflowId), {
      key: OpsflowState,
      paused: () => run.status.paused && !endStates.includes(run.status.state),
      state: () => run.status.state,
    }),
  };
  installHandlers(run, rollout.progress, ending);
  requireServiceWorkflowId(rollout);

  // ---- plan: everything the input names must exist before anything is touched. Planning comes
  // before the first upsert, so a run naming an unknown LB fails with that reason even on a
  // namespace without opsflow's search attributes; histories from before this order keep theirs.
  const planFirst = wf.patched(PLAN_BEFORE_SEARCH_ATTRIBUTES);
  if (!planFirst) showService(rollout);
  if (!run.status.plan) await plan(rollout);
  if (planFirst) showService(rollout);

  // ---- each step: approve?, shift, watch the window, decide (a Stop rolls back)
  for (let i = carried?.stepIndex ?? 0; i < input.steps.length; i++) {
    const resuming = run.resumesAt(i);
    try {
      if (!resuming) {
        startStep(rollout, i);
        if (run.needsApproval(i)) await approve(rollout, i);
        run.checkAbort(`before ${run.stepLabel(i)}`);
        await shift(rollout, i);
      }
      if (input.dryRun) await dryRunWindow(rollout, i);
      else await watchWindow(rollout, raw, i, resuming);
    } catch (err) {
      return await stepFailed(rollout, i, err);
    }
  }

  // ---- success: tell stakeholders, then clean up the old system
  return goLive(rollout);
}

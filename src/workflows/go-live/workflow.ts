// Why: the go-live runbook (runbooks §1–3, §10) as one durable run: readiness → (baseline) → data
// migration → phased rollout → user cutover, each stage its own child workflow with its own id, history and page;
// the first failure stops the run, says which stage and why, and what earlier stages left in place.
import * as wf from '@temporalio/workflow';
import {
  goLiveInput,
  stageOrder,
  stageWorkflowId,
  type GoLiveInput,
  type GoLivePlan,
  type StageName,
} from '../../domain/go-live/input';
import { OpsflowPhase, OpsflowService, OpsflowStep } from '../../domain/search-attributes';
import { approvalRuleOf } from '../../domain/approval';
import { parseInput } from '../input';
import { RunEnding } from '../common/ending';
import { failureMessage } from '../common/failure';
import { Progress } from '../common/progress';
import { shownCondition } from '../common/operator-controls';
import { approvalWaitText, pausedText } from '../../domain/operator-commands';
import { GoLiveControls } from './handlers';
import { abortSignal } from './messages';
import {
  childAbortInput,
  cutoverAchieved,
  cutoverStoppedStays,
  GoLiveRun,
  renderGoLiveReport,
  type GoLiveStatus,
} from './state';
import { readinessCheckWorkflow, type ReadinessResult } from '../readiness/workflow';
import { performanceBaselineWorkflow } from '../baseline/workflow';
import { dataMigrationWorkflow } from '../migration/workflow';
import { phasedRolloutWorkflow } from '../rollout/workflow';
import { userCutoverWorkflow } from '../cutover/workflow';
import type { MigrationResult } from '../migration/status';
import type { RolloutResult } from '../rollout/status';
import type { CutoverStatus } from '../cutover/status';

export interface GoLiveResult {
  status: GoLiveStatus;
  report: string;
}

/** Each stage's child workflow (its type is the function's name). */
const workflowOf: Record<StageName, wf.Workflow> = {
  readiness: readinessCheckWorkflow,
  baseline: performanceBaselineWorkflow,
  dataMigration: dataMigrationWorkflow,
  phasedRollout: phasedRolloutWorkflow,
  userCutover: userCutoverWorkflow,
};

export async function goLiveWorkflow(rawInput: GoLiveInput): Promise<GoLiveResult> {
  const ending = new RunEnding();
  return ending.run(() => goLive(rawInput, ending));
}

async function goLive(rawInput: GoLiveInput, ending: RunEnding): Promise<GoLiveResult> {
  const input = parseInput(goLiveInput, rawInput, 'goLiveWorkflow');
  const stages = stageOrder.filter((s) => input.stages[s] !== undefined);
  const run = new GoLiveRun(
    input.service,
    stages.map((stage) => ({ stage, workflowId: stageWorkflowId(input, stage) })),
  );
  const progress = new Progress(() => run.details(wf.workflowInfo().workflowId), {
    key: OpsflowPhase,
    paused: () => run.pauseHolds,
    state: () => run.status.phase,
  });
  const controls = new GoLiveControls(run);
  controls.install(() => progress.pauseChanged());
  ending.onEnd(({ kind, message }) => {
    const was = run.end(kind, message);
    progress.end([{ key: OpsflowPhase, value: run.status.phase }]);
    return `go-live of ${input.service} ${kind} while ${was}`;
  });
  progress.update([
    { key: OpsflowService, value: input.service },
    { key: OpsflowPhase, value: 'running' },
  ]);

  for (const [i, stage] of stages.entries()) {
    const rule = approvalRuleOf(input.approveBetweenStages);
    if (i > 0 && rule) {
      run.awaitingApproval(stage);
      progress.update([{ key: OpsflowStep, value: `${stage}: awaiting approval` }]);
      const wait = controls.controls.takeApproval(
        controls.stepOf(stage),
        undefined,
        rule,
        approvalWaitText(`stage ${stage}`, wf.workflowInfo().workflowId),
      );
      run.status.approvals = controls.controls.approvalProgress();
      await wait;
      run.status.approvals = undefined;
      run.approvalEnded(stage);
    }
    await shownCondition(
      () => !run.status.paused || controls.aborted !== undefined,
      `before ${stage}: ${pausedText(wf.workflowInfo().workflowId, run.status.pausedBy)}`,
    );
    if (controls.aborted) {
      run.stop(stage, `${controls.aborted} before ${stage} started`);
      break;
    }
    const ok = await runStage(input, stage, run, controls, progress);
    if (!ok) break;
  }

  if (run.status.stoppedAt) {
    progress.phase('stopped');
    throw wf.ApplicationFailure.nonRetryable(run.stopMessage(), 'GoLiveStopped', renderGoLiveReport(run.status));
  }
  run.live();
  progress.update([
    { key: OpsflowPhase, value: 'live' },
    { key: OpsflowStep, value: 'done' },
  ]);
  return { status: run.status, report: renderGoLiveReport(run.status) };
}

/** One stage as a child; true when it succeeded and the go-live may go on. */
async function runStage(
  input: GoLivePlan,
  stage: StageName,
  run: GoLiveRun,
  controls: GoLiveControls,
  progress: Progress,
): Promise<boolean> {
  const workflowId = run.stage(stage).workflowId;
  const handle = await wf.startChild(workflowOf[stage], {
    workflowId,
    args: [stageInput(input, stage)],
    // A go-live cancelled mid-stage asks the child to stop its own way (a rollout rolls back).
    parentClosePolicy: wf.ParentClosePolicy.REQUEST_CANCEL,
    staticSummary: `${stage} of the go-live of ${input.service}`,
  });
  controls.child = { stage, handle };
  run.started(stage, handle.firstExecutionRunId);
  progress.update([{ key: OpsflowStep, value: stage }]);
  // An abort that came while the child was starting reaches it now.
  if (controls.aborted) await handle.signal(abortSignal, childAbortInput(stage, { reason: controls.aborted }));
  try {
    const result = await handle.result();
    return judge(input, stage, result, run);
  } catch (err) {
    if (wf.isCancellation(err)) throw err;
    run.failed(stage, failureMessage(err), stage === 'userCutover' ? cutoverStoppedStays(workflowId) : undefined);
    return false;
  } finally {
    controls.child = undefined;
    progress.show();
  }
}

function stageInput(input: GoLivePlan, stage: StageName): unknown {
  return stage === 'readiness' ? { ...input.stages.readiness, service: input.service } : input.stages[stage];
}

/** What a finished child achieved; a readiness gate that closed NOT READY stops the go-live. */
function judge(input: GoLivePlan, stage: StageName, result: unknown, run: GoLiveRun): boolean {
  switch (stage) {
    case 'readiness': {
      const r = result as ReadinessResult;
      if (!r.ready) {
        run.failed(stage, `NOT READY: ${r.blocking.join(', ')} not passed, signed or waived`);
        return false;
      }
      run.succeeded(stage, 'READY');
      return true;
    }
    case 'baseline':
      run.succeeded(stage, 'baseline stored');
      return true;
    case 'dataMigration': {
      const r = result as MigrationResult;
      const m = input.stages.dataMigration!;
      const copied = `${r.rowsCopied} rows copied into ${m.target.database}.${m.target.table}${r.verification ? ', verified' : ''}`;
      run.succeeded(
        stage,
        copied,
        `data migration ${m.name}: ${copied} (a go-live never undoes a completed migration)`,
      );
      return true;
    }
    case 'phasedRollout': {
      const r = result as RolloutResult;
      run.succeeded(stage, `${r.stepsCompleted} steps, ${r.cleanup}`);
      return true;
    }
    case 'userCutover': {
      const { outcome, stays } = cutoverAchieved(result as CutoverStatus);
      run.succeeded(stage, outcome, stays);
      return true;
    }
  }
}

// Why: the rollout's named steps (plan, approve, shift, go live and clean up) and the calls they
// share (state changes, notifications, the LB split), so the workflow entry reads as the runbook.
import * as wf from '@temporalio/workflow';
import type { NotificationSeverity } from '../../domain/notification';
import { notifyOnRecord } from '../common/notify';
import { rolloutWorkflowId } from '../../domain/rollout/input';
import { isBaselineRef } from '../../domain/baseline/gate';
import type { GateThresholds } from '../../domain/gate/evaluate';
import { OpsflowService, OpsflowState, OpsflowStep } from '../../domain/search-attributes';
import { failureMessage } from '../common/failure';
import { approvalWaitText } from '../../domain/operator-commands';
import { withSummary, type Progress } from '../common/progress';
import { acts, lbOptions, rollbackOptions } from './activities';
import type { RolloutRun } from './state';
import { Stop } from '../common/gate-window';
import { rolloutResult, type RolloutResult, type RolloutState } from './status';

/** A run's state and the means to show it: what every step works on. */
export interface Rollout {
  run: RolloutRun;
  progress: Progress;
}

export function setState({ run, progress }: Rollout, state: RolloutState): void {
  run.enter(state);
  progress.update([{ key: OpsflowState, value: state }]);
}

export function showService({ run }: Rollout): void {
  wf.upsertSearchAttributes([{ key: OpsflowService, value: run.input.service }]);
}

/**
 * Tells each notifier (default: the input's); a lost message is on the record, never a stop.
 * Not `async`: the sending's own promise is returned, as deep as the loop it replaced.
 */
export function notify(
  { run }: Rollout,
  event: string,
  severity: NotificationSeverity,
  title: string,
  text: string,
  details: Record<string, unknown>,
  to = run.input.notify,
): Promise<void> {
  const { input, status } = run;
  if (input.dryRun) {
    for (const notifier of to) status.actions.push(`would notify ${notifier} (${severity}): ${title}`);
    return Promise.resolve();
  }
  return notifyOnRecord(to, event, { severity, title, text, details: { service: input.service, ...details } }, (t) =>
    run.decide(t),
  );
}

/** Sets the LB split and reads it back (a dry run only says it would). */
export async function split(
  { run }: Rollout,
  newPercent: number,
  targetUsers: string[] | undefined,
  summary: string,
  rollback = false,
): Promise<void> {
  const { input, status } = run;
  if (input.dryRun) {
    status.actions.push(
      `would set ${input.lb}: ${input.backends.new} ${newPercent} % / ${input.backends.old} ${100 - newPercent} %${targetUsers ? ` for ${targetUsers.join(', ')}` : ''}, then read it back`,
    );
    return;
  }
  const args = {
    lb: input.lb,
    old: input.backends.old,
    new: input.backends.new,
    newPercent,
    ...(targetUsers ? { targetUsers } : {}),
  };
  status.weights = await acts.setTrafficSplit.executeWithOptions(
    withSummary(rollback ? rollbackOptions : lbOptions, summary),
    [args],
  );
  run.decide(
    `LB ${input.lb} reads back ${status.weights.newPercent} % for ${input.backends.new} (weights ${JSON.stringify(status.weights.weights)})`,
  );
}

/** One rollout per service: the workflow id is the service's, so Temporal itself refuses a second start. */
export function requireServiceWorkflowId({ run }: Rollout): void {
  const { input } = run;
  const id = wf.workflowInfo().workflowId;
  if (!input.dryRun && id !== rolloutWorkflowId(input.service)) {
    throw wf.ApplicationFailure.nonRetryable(
      `a phased rollout of ${input.service} must run as workflow id "${rolloutWorkflowId(input.service)}" (got "${id}"), so that two rollouts of one service can never run side by side`,
      'InvalidWorkflowId',
    );
  }
}

/** Patch id: runs recorded before gates from baselines planned with the input's gate as it was. */
const GATE_FROM_BASELINE = 'rollout-gate-from-baseline';

/** Everything the input names must exist before anything is touched; a gate from a baseline is resolved first. */
export async function plan({ run }: Rollout): Promise<void> {
  const { input } = run;
  try {
    const gate = await resolveGate(run);
    run.planned(
      await acts.planRollout.executeWithOptions(
        withSummary(
          lbOptions,
          `check ${input.lb} knows ${input.backends.old} and ${input.backends.new}; gate sources ${input.metricSources.join(', ')}`,
        ),
        [{ ...input, gate }],
      ),
    );
  } catch (err) {
    // Nothing was touched yet: say what is wrong with the input as the run's own failure.
    throw wf.ApplicationFailure.nonRetryable(
      `cannot roll out ${input.service}, nothing was changed: ${failureMessage(err)}`,
      'InvalidRollout',
    );
  }
}

/**
 * The gate's numbers: the input's, or the critical thresholds of the service's latest baseline,
 * asked once here (the config name check cannot see baselines, so a missing or unusable one is
 * said now, before anything moves). The result sits in the status and is carried across
 * continue-as-new, so the gate stays the same for the whole run and its replay.
 */
async function resolveGate(run: RolloutRun): Promise<GateThresholds | undefined> {
  const { gate } = run.input;
  if (!isBaselineRef(gate)) return gate;
  if (!wf.patched(GATE_FROM_BASELINE))
    throw wf.ApplicationFailure.nonRetryable(
      'gate.fromBaseline: this run was recorded before gates from baselines existed',
      'InvalidRollout',
    );
  const resolved = await acts.resolveBaselineGate.executeWithOptions(
    withSummary(lbOptions, `gate from the latest baseline of ${gate.fromBaseline}`),
    [gate],
  );
  run.gateResolved(resolved);
  return resolved.gate;
}

export function startStep(rollout: Rollout, i: number): void {
  const { input } = rollout.run;
  rollout.run.startStep(i);
  wf.upsertSearchAttributes([{ key: OpsflowStep, value: `${i + 1}/${input.steps.length} ${input.steps[i].weight}%` }]);
}

/** Waits for a person's approve of step `i` (a dry run only says it would); an abort stops. */
export async function approve(rollout: Rollout, i: number): Promise<void> {
  const { run } = rollout;
  if (run.input.dryRun) {
    run.status.actions.push(`would wait for approve before ${run.stepLabel(i)}`);
    return;
  }
  run.awaitApproval(i);
  setState(rollout, 'awaiting-approval');
  // An approve sent before this wait still counts if it names this step; a bare one is for the step waiting.
  const wait = run.controls.takeApproval(
    i + 1,
    () => run.status.approved.includes(i + 1),
    run.approvalRule(i),
    approvalWaitText(run.stepLabel(i), wf.workflowInfo().workflowId),
  );
  run.status.approvals = run.controls.approvalProgress();
  const outcome = await wait;
  run.approvalEnded(i, outcome);
}

/** Moves step `i`'s share of traffic to the new backend; a split that fails stops the rollout. */
export async function shift(rollout: Rollout, i: number): Promise<void> {
  const { input } = rollout.run;
  const weight = input.steps[i].weight;
  setState(rollout, 'shifting');
  const users = rollout.run.targetUsers(i);
  await split(
    rollout,
    weight,
    users,
    `phase ${i + 1}: ${input.backends.new} ${weight} % / ${input.backends.old} ${100 - weight} %${users ? ` for ${users.join(', ')}` : ''}`,
  ).catch((err) => {
    throw new Stop('shift-failed', `could not set the split: ${failureMessage(err)}`);
  });
}

/** Every step passed: tell stakeholders, then clean up the old backend. */
export async function goLive(rollout: Rollout): Promise<RolloutResult> {
  const { input, status } = rollout.run;
  const n = input.steps.length;
  status.window = undefined;
  await notify(
    rollout,
    'go-live',
    'info',
    `Rollout of ${input.service} succeeded: 100 % on ${input.backends.new}`,
    `Go-live succeeded: all ${n} steps passed their gates. ${input.cleanup === 'none' ? `${input.backends.old} is left as it is.` : `${input.backends.old} is set to ${input.cleanup} on ${input.lb}.`}`,
    { steps: n, split: status.weights },
    input.stakeholders ?? input.notify,
  );
  if (input.cleanup !== 'none') {
    setState(rollout, 'cleaning-up');
    if (input.dryRun) status.actions.push(`would set ${input.backends.old} to ${input.cleanup} on ${input.lb}`);
    else {
      const state = await acts.setLoadBalancerServerState.executeWithOptions(
        withSummary(lbOptions, `clean up: ${input.backends.old} to ${input.cleanup} on ${input.lb}`),
        [{ lb: input.lb, server: input.backends.old, state: input.cleanup }],
      );
      rollout.run.decide(`clean-up: ${input.backends.old} reads back ${state} on ${input.lb}`);
    }
  }
  setState(rollout, input.dryRun ? 'dry-run-done' : 'succeeded');
  return rolloutResult(input, status, input.dryRun ? 'dry-run' : 'succeeded');
}

// Why: a host's drain waits for the load balancer to report no sessions; a drain that does not end
// asks a person rather than waiting for ever or cutting connections.
import * as wf from '@temporalio/workflow';
import { formatDuration } from '../../domain/duration';
import { approvalWaitText } from '../../domain/operator-commands';
import { quick, step } from './activities';
import type { SagaContext, SagaPlan } from './saga-plan';

/**
 * A stuck drain's approval is the host's own wait (step "drain-<host>", the hosts of a batch in turn)
 * under the deploy's `approvalRule`; runs recorded before shared the batch's step number, one wait
 * for all its hosts, and one person sufficed.
 */
const DRAIN_APPROVAL_OWN = 'opsflow-deploy-drain-approval-own-step';

/**
 * Waits for the LB to report no sessions on the host; after `drainTimeout` it asks a person:
 * `approve` goes on, `abort` fails the saga.
 */
export async function drain(plan: SagaPlan, ctx: SagaContext, stepNo: number): Promise<void> {
  const target = { service: plan.service, host: plan.host };
  await step(quick, `drain ${plan.host} on the load balancer`).drainHost(target);
  const confirmed = await step(
    { ...quick, startToCloseTimeout: plan.drainTimeout + 60_000 },
    `confirm ${plan.host} drained (sessions 0, up to ${formatDuration(plan.drainTimeout)})`,
  ).confirmHostDrained({ ...target, timeoutMs: plan.drainTimeout });
  if (confirmed.drained) return;
  const { sessions } = confirmed;
  ctx.run.host(plan.host, {
    state: 'drain-stuck',
    error: `${sessions} sessions after ${formatDuration(plan.drainTimeout)}`,
  });
  const ask = `${plan.host}: ${sessions} sessions still open after ${formatDuration(plan.drainTimeout)}; approve to go on, abort to stop`;
  ctx.run.note(ask);
  ctx.show();
  await ctx.tell(
    `drain-stuck-${plan.host}`,
    'warning',
    `Deploy of ${plan.service}: drain of ${plan.host} not confirmed`,
    ask,
  );
  const what = `going on with ${plan.host}'s ${sessions} open sessions`;
  const own = wf.patched(DRAIN_APPROVAL_OWN);
  if (own) await ctx.controls.approvalTurn();
  ctx.run.awaitApproval(what);
  ctx.show();
  const wait = ctx.controls.takeApproval(
    own ? `drain-${plan.host}` : stepNo,
    undefined,
    own ? ctx.approvalRule : undefined,
    // With a step of its own, the command names it: a bare approve would go to whichever host waits.
    own
      ? approvalWaitText(what, wf.workflowInfo().workflowId, '--step', `drain-${plan.host}`)
      : approvalWaitText(what, wf.workflowInfo().workflowId),
  );
  // Under a rule of several people (or forbidding the starter): who has approved so far, in the status.
  const progress = ctx.controls.approvalProgress();
  if (progress) ctx.run.status.approvals = progress;
  ctx.show();
  const answer = await wait;
  delete ctx.run.status.approvals;
  ctx.run.awaitApproval(undefined);
  if (answer === 'aborted')
    throw wf.ApplicationFailure.nonRetryable(
      `${plan.host}: drain not confirmed (${sessions} sessions) and aborted`,
      'DrainAborted',
    );
  ctx.run.note(`${plan.host}: going on with ${sessions} sessions open, approved`);
  ctx.run.host(plan.host, { state: 'draining', error: undefined });
}

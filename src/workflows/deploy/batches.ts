// Why: the fleet, batch by batch: per batch the operator's pause and approval, one saga per host
// side by side, then the failure budget; and for a stopped deploy, its upgraded hosts taken back
// one at a time through the same saga.
import * as wf from '@temporalio/workflow';
import type { ApprovalRule } from '../../domain/approval';
import { approvalWaitText } from '../../domain/operator-commands';
import { hostSaga } from './saga';
import type { SagaContext, SagaPlan } from './saga-plan';

/** An abort sent while paused between batches ends the wait; runs recorded before it waited for a resume. */
const ABORT_ENDS_PAUSE = 'deploy-abort-ends-pause';

/** A flapping release stops the fleet whatever the budget: runs recorded before this never judge it. */
const FLAP_STOPS_FLEET = 'opsflow-deploy-flap-stops-fleet';

/** Batches in order, sagas of a batch side by side; returns why it stopped, or undefined. */
export async function runBatches(
  ctx: SagaContext,
  { approval, approvalRule }: { approval: 'none' | 'first-host' | 'each-batch'; approvalRule?: ApprovalRule },
  plan: (host: string) => SagaPlan,
  first = 0,
  beforeNextBatch: (next: number) => Promise<void> = async () => {},
): Promise<string | undefined> {
  const { run, controls } = ctx;
  const batches = run.status.batches;
  for (let i = first; i < batches.length; i++) {
    if (i > first) await beforeNextBatch(i);
    if (controls.paused) {
      run.setPhase('paused');
      ctx.show();
      // An abort ends the pause: asked only when paused here, so runs never paused record no marker.
      await controls.waitWhilePaused(wf.patched(ABORT_ENDS_PAUSE));
    }
    if (approval === 'each-batch' || (approval === 'first-host' && i === 0)) {
      const what = `batch ${i + 1}/${batches.length} (${batches[i].join(', ')})`;
      run.setPhase('awaiting-approval');
      run.awaitApproval(what);
      ctx.show();
      const wait = controls.takeApproval(
        i + 1,
        undefined,
        approvalRule,
        approvalWaitText(what, wf.workflowInfo().workflowId),
      );
      // takeApproval knows the step and rule once called: the status shows who has approved so far.
      run.status.approvals = controls.approvalProgress();
      ctx.show();
      const outcome = await wait;
      delete run.status.approvals;
      run.awaitApproval(undefined);
      if (outcome === 'aborted') return controls.abortMessage(`before batch ${i + 1}`);
    }
    if (controls.aborted) return controls.abortMessage(`before batch ${i + 1}`);
    run.startBatch(i);
    ctx.show();
    const outcomes = await Promise.all(batches[i].map((host) => hostSaga(plan(host), ctx, i + 1)));
    const failed = batches[i].filter((_, k) => !outcomes[k].ok);
    const flapped = batches[i].filter((_, k) => {
      const o = outcomes[k];
      return !o.ok && o.flapping;
    });
    // patched only when a host flapped: a history without a flap replays without the marker.
    const verdict = run.endBatch(i, failed, flapped.length > 0 && wf.patched(FLAP_STOPS_FLEET) ? flapped : []);
    ctx.show();
    if (verdict.stop) return verdict.reason;
  }
  return undefined;
}

/**
 * `rollbackFleetOnFailure`: the hosts this deploy upgraded go back through the same saga, one at a
 * time; between two of them `beforeNextHost` may hand over to a new run (at least one host per run).
 */
export async function rollbackUpgraded(
  ctx: SagaContext,
  input: { service: string; healthCheck: SagaPlan['health']; drainTimeout: number },
  reason: string,
  beforeNextHost: () => Promise<void>,
): Promise<void> {
  const { run } = ctx;
  run.startFleetRollback(reason);
  ctx.show();
  const left = run.fleetRollbackLeft();
  for (const [i, { host, release }] of left.entries()) {
    if (i > 0) await beforeNextHost();
    await hostSaga(
      { service: input.service, host, release, health: input.healthCheck, drainTimeout: input.drainTimeout },
      ctx,
      0,
    );
    run.fleetHostBack(host);
  }
}

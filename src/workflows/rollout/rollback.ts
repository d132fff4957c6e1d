// Why: putting traffic back on the old backend is the rollout's safety net; how a stopped step,
// a cancellation or an unforeseen error rolls back, and what a rollback that fails says, sit here.
import * as wf from '@temporalio/workflow';
import { describeFailure } from '../../domain/gate/evaluate';
import { recordEnding } from '../common/ending';
import { failureMessage } from '../common/failure';
import { stopSentence } from '../common/operator-controls';
import { notify, setState, split, type Rollout } from './steps';
import { Stop } from '../common/gate-window';
import { rolloutResult, type RolloutResult } from './status';

/** Patch id: runs cancelled before this rolled nothing back (their rollback activity failed at once). */
const ROLLBACK_ON_CANCEL = 'rollout-rollback-on-cancel';
/** Patch id: runs recorded before this failed with the bare activity failure when the rollback failed. */
const ROLLBACK_FAILURE_NOTIFIES = 'rollout-rollback-failure-notifies';

/**
 * Step `i` went wrong: roll back and fail the run saying why. Only a dry run's Stop returns (a
 * dry run ends done, with what it would have done); a cancelled run rolls back, then ends cancelled.
 */
export async function stepFailed(rollout: Rollout, i: number, err: unknown): Promise<RolloutResult> {
  if (err instanceof Stop) {
    if (rollout.run.input.dryRun) {
      rollout.run.status.actions.push(`would roll back ${rollout.run.stepLabel(i)}: ${err.message}`);
      await rollBack(rollout, i, err);
      setState(rollout, 'dry-run-done');
      return rolloutResult(rollout.run.input, rollout.run.status, 'dry-run');
    }
    throw await rollBack(rollout, i, err);
  }
  if (err instanceof wf.ContinueAsNew) throw err;
  // A cancelled run still puts the LB back: in the cancelled scope the rollback's activity
  // would fail at once and leave traffic on the new backend.
  if (wf.isCancellation(err) && wf.patched(ROLLBACK_ON_CANCEL)) {
    await wf.CancellationScope.nonCancellable(() =>
      rollBack(rollout, i, new Stop('cancel', `cancelled at ${rollout.run.stepLabel(i)}`)),
    );
    const { input, status } = rollout.run;
    status.failure = `rollout of ${input.service} cancelled at ${rollout.run.stepLabel(i)}; rolled back: LB ${input.lb} reads ${status.weights?.newPercent ?? '?'} % ${input.backends.new}`;
    recordEnding(status.failure);
    setState(rollout, 'cancelled');
    throw err;
  }
  // Anything unforeseen in a step still leaves the LB as it was before the rollout.
  throw await rollBack(rollout, i, new Stop('error', `unexpected error: ${failureMessage(err)}`));
}

/** Sets the new backend to 0 % (read back), tells people why, and returns the run's failure. */
async function rollBack(rollout: Rollout, i: number, stop: Stop): Promise<wf.ApplicationFailure> {
  const { input, status } = rollout.run;
  const n = input.steps.length;
  const label = rollout.run.stepLabel(i);
  setState(rollout, 'rolling-back');
  const last = i === n - 1;
  try {
    await split(
      rollout,
      0,
      undefined,
      `${last ? 'EMERGENCY ROLLBACK' : `rollback_phase${i + 1}`}: ${input.backends.new} to 0 %, read back`,
      true,
    );
  } catch (err) {
    if (!wf.patched(ROLLBACK_FAILURE_NOTIFIES)) throw err;
    throw await rollbackFailed(rollout, i, stop, err);
  }
  status.window = undefined;
  const failure = stop.gate?.failures[0];
  const what = stop.gate
    ? `${stop.gate.failures.map(describeFailure).join('; ')}${rollout.run.gateOrigin()}`
    : stop.message;
  const aborted = stop.kind === 'abort' || stop.kind === 'cancel';
  const kind = stop.kind === 'cancel' ? 'cancelled' : aborted ? 'aborted' : last ? 'EMERGENCY rollback' : 'rolled back';
  const message = stopSentence(`rollout of ${input.service}`, stop, kind, label, what);
  rollout.run.decide(input.dryRun ? `would roll back: ${what}` : `rolled back to 100 % ${input.backends.old}: ${what}`);
  await notify(
    rollout,
    last && !aborted ? 'emergency-rollback' : aborted ? 'abort' : `rollback-phase${i + 1}`,
    aborted ? 'warning' : last ? 'emergency' : 'critical',
    `${last && !aborted ? 'EMERGENCY ' : ''}Rollout of ${input.service} ${kind} at step ${i + 1}/${n}`,
    `${message}. ${input.dryRun ? 'Dry run: nothing was changed.' : `The load balancer ${input.lb} reads back 0 % for ${input.backends.new}.`}`,
    {
      step: i + 1,
      weight: input.steps[i].weight,
      reason: stop.kind,
      ...(failure ? { metric: failure.metric, value: failure.value, max: failure.max, source: failure.source } : {}),
      failures: stop.gate?.failures ?? [],
      split: status.weights,
    },
  );
  setState(rollout, aborted ? 'aborted' : 'rolled-back');
  return wf.ApplicationFailure.nonRetryable(message, aborted ? 'RolloutAborted' : 'RolloutRolledBack', {
    step: i + 1,
    weight: input.steps[i].weight,
    reason: stop.kind,
    failures: stop.gate?.failures ?? [],
  });
}

/** The rollback itself failed: traffic may still be on the new backend. Said loudly, left in the state, and the run's failure. */
async function rollbackFailed(rollout: Rollout, i: number, stop: Stop, err: unknown): Promise<wf.ApplicationFailure> {
  const { input, status } = rollout.run;
  const gaveUp =
    err instanceof wf.ActivityFailure && err.retryState === 'MAXIMUM_ATTEMPTS_REACHED'
      ? 'gave up after retrying'
      : 'not retryable';
  const lastRead = status.weights ? `; it last read back ${status.weights.newPercent} % for ${input.backends.new}` : '';
  const message =
    `ROLLBACK FAILED: rollout of ${input.service} could not roll back ${input.lb} at ${rollout.run.stepLabel(i)} (${gaveUp}): ${failureMessage(err)}. ` +
    `Traffic may still be on ${input.backends.new}${lastRead}: set ${input.backends.new} to 0 % on ${input.lb} by hand. Rolled back because: ${stop.message}`;
  status.failure = message;
  setState(rollout, 'rollback-failed');
  rollout.run.decide(message);
  await notify(
    rollout,
    'rollback-failed',
    'emergency',
    `ROLLBACK FAILED: rollout of ${input.service} at step ${i + 1}/${input.steps.length}: traffic may still be on ${input.backends.new}`,
    message,
    {
      step: i + 1,
      lb: input.lb,
      reason: stop.kind,
      error: failureMessage(err),
      split: status.weights,
    },
  );
  return wf.ApplicationFailure.nonRetryable(message, 'RolloutRollbackFailed', {
    step: i + 1,
    lb: input.lb,
    reason: stop.kind,
  });
}

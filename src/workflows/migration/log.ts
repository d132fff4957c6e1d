// Why: runbooks §2's `migration_log` row must always be closed, whatever ends the run, and its closing
// must never hide why the run ended; opening and closing it live together here.
import * as wf from '@temporalio/workflow';
import type { MigrationSpec } from '../../domain/migration/input';
import { failureMessage } from '../common/failure';
import { acts, step } from './activities';
import type { PhaseTracker } from './phase';
import type { MigrationState } from './state';

/** Not cancellable: a log row that was opened is always closed (CANCELLED at worst), never left RUNNING. */
export async function openLog(input: MigrationSpec, state: MigrationState): Promise<void> {
  if (state.logId) return; // a continued run writes to its chain's row
  const logId = await wf.CancellationScope.nonCancellable(() =>
    acts.openMigrationLog.executeWithOptions(step('migration_log: RUNNING'), [input, state.runKey]),
  );
  state.logOpened(logId);
}

export async function closeLogCompleted(input: MigrationSpec, state: MigrationState): Promise<void> {
  await acts.closeMigrationLog.executeWithOptions(
    step(`migration_log: ${input.mode === 'verify' ? 'VERIFIED' : 'COMPLETED'}`),
    [input, state.logId!, state.runKey, 'COMPLETED'],
  );
}

/**
 * The copy or the verification ended by `err`: the log says CANCELLED or FAILED with the reason,
 * the phase follows, and the run fails with the same words (an activity that ran out of retries
 * becomes a non-retryable failure naming the cause). If closing the log fails too, the original
 * error stands. Continue-as-new passes through untouched.
 */
export async function endWithLog(
  err: unknown,
  input: MigrationSpec,
  state: MigrationState,
  phases: PhaseTracker,
): Promise<never> {
  if (err instanceof wf.ContinueAsNew) throw err;
  const close = (status: 'CANCELLED' | 'FAILED', message: string) =>
    wf.CancellationScope.nonCancellable(() =>
      acts.closeMigrationLog.executeWithOptions(step(`migration_log: ${status}`), [
        input,
        state.logId!,
        state.runKey,
        status,
        message,
      ]),
    ).catch(() => undefined);
  if (wf.isCancellation(err)) {
    await close('CANCELLED', 'cancelled by an operator');
    phases.enter('cancelled');
    throw err;
  }
  const message = failureMessage(err);
  state.failed(message);
  await close('FAILED', message);
  phases.enter('failed');
  if (err instanceof wf.ApplicationFailure && err.nonRetryable) throw err;
  throw wf.ApplicationFailure.nonRetryable(message, 'MigrationFailed');
}

// Why: runbooks §2's runbook as a durable workflow, read top to bottom: the steps live beside it.
import * as wf from '@temporalio/workflow';
import { dataMigrationInput, type DataMigrationInput } from '../../domain/migration/input';
import { continueAsNewWith } from '../common/continue-as-new';
import { RunEnding } from '../common/ending';
import { parseInput } from '../input';
import { copyLanes } from './copy-lanes';
import { installHandlers } from './handlers';
import { ChunkLanes } from './lanes';
import { closeLogCompleted, endWithLog, openLog } from './log';
import { PhaseTracker } from './phase';
import { checkDatabases, dryRun, planChunks } from './preflight';
import { MigrationState } from './state';
import type { MigrationCarry, MigrationResult } from './status';
import { verdict, verifyLanes } from './verify';

export type { MigrationCarry, MigrationResult } from './status';

/**
 * runbooks §2 as a durable workflow: copy rows from a source table into a target table with a column
 * mapping, in keyset chunks recorded in a progress table, flagging each copied source row in the
 * same transaction, then verify counts and checksums per chunk and bisect differences to keys.
 * `migration_log` gets one row per run: RUNNING, then COMPLETED, FAILED (with the error) or CANCELLED.
 */
export async function dataMigrationWorkflow(
  rawInput: DataMigrationInput,
  carried?: MigrationCarry,
): Promise<MigrationResult> {
  const ending = new RunEnding();
  return ending.run(() => migrate(rawInput, carried, ending));
}

async function migrate(
  rawInput: DataMigrationInput,
  carried: MigrationCarry | undefined,
  ending: RunEnding,
): Promise<MigrationResult> {
  const input = parseInput(dataMigrationInput, rawInput, 'dataMigrationWorkflow');
  const { workflowId, firstExecutionRunId } = wf.workflowInfo();
  const state = carried
    ? MigrationState.restore(carried)
    : MigrationState.start(input, `${workflowId}/${firstExecutionRunId}`);
  const phases = new PhaseTracker(state, installHandlers(state), input.name);
  ending.onEnd((end) => phases.ended(end));

  // Preflight: the databases answer (a continued run checked them already).
  if (carried) phases.show();
  else await checkDatabases(input, phases);
  if (input.mode === 'dry-run') return dryRun(input, phases);

  await openLog(input, state);
  try {
    // Plan the chunks, then copy them in lanes and verify them in lanes; both go on across
    // continue-as-new from where the carried state says.
    if (!carried) await planChunks(input, state, phases);
    const lanes = new ChunkLanes(input, state, phases, () =>
      continueAsNewWith<typeof dataMigrationWorkflow>(input, state.carry()),
    );
    if (state.phase === 'copying') {
      await copyLanes(input, state, lanes);
      if (input.verify) {
        state.restartLanes();
        phases.enter('verifying');
      }
    }
    if (state.phase === 'verifying') await verifyLanes(input, state, lanes);

    // Verdict and log.
    const verification = verdict(input, state);
    await closeLogCompleted(input, state);
    phases.enter('completed');
    return state.result(verification);
  } catch (err) {
    return endWithLog(err, input, state, phases);
  }
}

// Why: runbooks §2's steps before any row moves (are the databases there, do the tables fit the
// mapping, how is the key space cut), and the dry run that stops after them.
import * as wf from '@temporalio/workflow';
import type { MigrationSpec } from '../../domain/migration/input';
import { PLAN_BEFORE_SEARCH_ATTRIBUTES } from '../common/ending';
import { acts, step } from './activities';
import type { PhaseTracker } from './phase';
import type { MigrationState } from './state';
import type { MigrationResult } from './status';

/**
 * Retries of the first check: nothing is written yet and the operator who started the run is at
 * hand, so a database that refuses connections for a few seconds is reported (naming the field
 * and the config entry) instead of being retried for 2½ minutes as the later steps are; those
 * keep their budget, since mid-run a refused connection is more often a restart or a failover.
 */
const checkRetry: wf.RetryPolicy = { maximumAttempts: 3, initialInterval: '1s', maximumInterval: '2s' };

/**
 * The databases named come first, before the first upsert: a wrong name fails the run saying so,
 * even on a namespace without opsflow's search attributes. Older histories keep their order.
 */
export async function checkDatabases(input: MigrationSpec, phases: PhaseTracker): Promise<void> {
  if (wf.patched(PLAN_BEFORE_SEARCH_ATTRIBUTES)) {
    await acts.resolveMigrationDatabases.executeWithOptions(
      step('check source and target databases answer', { retry: checkRetry }),
      [input],
    );
  }
  phases.enter('preflight');
}

const checkTables = (input: MigrationSpec) =>
  acts.preflightMigration.executeWithOptions(step('check tables, columns, key, mapping'), [input]);

/** Nothing is written, not even the log: a dry run only reads catalogs and counts rows. */
export async function dryRun(input: MigrationSpec, phases: PhaseTracker): Promise<MigrationResult> {
  const shape = await checkTables(input);
  const dryRun = await acts.dryRunMigration.executeWithOptions(step('count rows and chunks'), [input, shape]);
  phases.enter('completed');
  return { name: input.name, mode: input.mode, rowsCopied: 0, chunks: dryRun.chunks, resumed: false, dryRun };
}

/** Checks the tables and cuts the key space into chunks in the progress table (or finds an unfinished plan to resume). */
export async function planChunks(input: MigrationSpec, state: MigrationState, phases: PhaseTracker): Promise<void> {
  const shape = await checkTables(input);
  state.checked(shape);
  phases.enter('planning');
  const plan = await acts.planMigration.executeWithOptions(
    step(`plan chunks of ${input.chunkSize} rows`, { startToCloseTimeout: '1h' }),
    [input, shape, state.runKey],
  );
  state.planned(plan);
  phases.enter(input.mode === 'verify' ? 'verifying' : 'copying');
}

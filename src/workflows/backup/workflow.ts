import * as wf from '@temporalio/workflow';
import { backupInput, type BackupInput } from '../../domain/backup/input';
import { copyStamp } from '../../domain/backup/manifest';
import { backupFailureText, backupSuccessText, type BackupResult } from '../../domain/backup/report';
import { notifyAll } from '../common/notify';
import { OpsflowPhase } from '../../domain/search-attributes';
import { parseInput } from '../input';
import { RunEnding } from '../common/ending';
import { failureMessage } from '../common/failure';
import { Progress, withSummary } from '../common/progress';
import { acts, heavy, light } from './activities';
import { BackupState, type BackupPhase } from './state';
import { statusQuery } from './messages';

/**
 * runbooks §8 backups, proven: dump every database (with its tables' counts and checksums from the same
 * snapshot), tar the app tree and the config, restore every dump into a scratch database and
 * compare, apply retention, then report — every failure to every notifier, or the short report.
 * A step that fails does not stop the others; the run fails after reporting them all.
 */
export async function backupWorkflow(rawInput: BackupInput): Promise<BackupResult> {
  const ending = new RunEnding();
  return ending.run(async () => {
    const input = parseInput(backupInput, rawInput, 'backupWorkflow');
    const state = new BackupState(input.set, copyStamp(new Date()), input.drill);
    // A backup takes no operator signals: there is nothing to approve, and stopping one is a
    // cancellation (the drill still drops its database).
    wf.setHandler(statusQuery, () => state.status);
    const progress = new Progress(() => state.details());
    ending.onEnd(({ kind, message }) => {
      const words = state.ended(kind, message);
      progress.end([{ key: OpsflowPhase, value: kind }]);
      return words;
    });
    const enter = (phase: BackupPhase, current?: string) => {
      const changed = phase !== state.status.phase;
      state.working(phase, current);
      if (changed) progress.phase(phase);
      else progress.show();
    };
    const { set, copy } = state.status;

    const plan = await acts.planBackup.executeWithOptions(withSummary(light, `plan backup set ${set}`), [
      { set, copy },
    ]);
    state.planned(plan);
    enter('backing-up');
    for (const target of plan.databases) {
      await step(state, enter, 'backing-up', `database ${target}`, () =>
        acts.backupDatabase
          .executeWithOptions(withSummary(heavy, `pg_dump ${target} with its table checksums`), [{ set, copy, target }])
          .then((m) => state.artifact(m)),
      );
    }
    if (plan.appTree)
      await step(state, enter, 'backing-up', 'app tree', () =>
        acts.backupAppTree
          .executeWithOptions(withSummary(heavy, 'tar of the app tree'), [{ set, copy }])
          .then((m) => state.artifact(m)),
      );
    if (plan.configFiles)
      await step(state, enter, 'backing-up', 'config files', () =>
        acts.backupConfigFiles
          .executeWithOptions(withSummary(heavy, 'tar of the config files'), [{ set, copy }])
          .then((m) => state.artifact(m)),
      );

    if (input.drill) {
      for (const manifest of state.status.artifacts) {
        const what =
          manifest.kind === 'postgres' ? `restore drill ${manifest.database!.target}` : `verify ${manifest.file}`;
        await step(state, enter, 'drilling', what, () =>
          manifest.kind === 'postgres'
            ? acts.drillDatabase
                .executeWithOptions(withSummary(heavy, `${what} into a scratch database`), [{ set, copy, manifest }])
                .then((d) => state.drilled(d))
            : acts.verifyArchive.executeWithOptions(withSummary(heavy, what), [{ set, copy, manifest }]),
        );
      }
    }
    await step(state, enter, 'retention', 'retention', () =>
      acts.applyBackupRetention
        .executeWithOptions(
          withSummary(light, `retention: ${plan.retentionDays} days, keep ${plan.minVerifiedCopies} verified`),
          [{ set, copy }],
        )
        .then((r) => state.retained(r)),
    );

    enter('notifying');
    await report(state, plan.notify);
    state.finish();
    progress.phase(state.status.phase);
    if (state.failed)
      throw wf.ApplicationFailure.nonRetryable(
        `backup ${set} ${copy} failed: ${state.status.failures.join('; ')}`,
        'BackupFailed',
        state.result(),
      );
    return state.result();
  });
}

/** Runs one step; its failure (after its retries) is recorded, not thrown, unless the run is cancelled. */
async function step(
  state: BackupState,
  enter: (p: BackupPhase, c?: string) => void,
  phase: BackupPhase,
  what: string,
  run: () => Promise<unknown>,
): Promise<void> {
  enter(phase, what);
  try {
    await run();
  } catch (err) {
    if (wf.isCancellation(err)) throw err;
    state.stepFailed(phase, what, failureMessage(err));
  }
}

/** Every failure to every notifier, or the short success report; one key per run and notifier. */
async function report(state: BackupState, notifiers: string[]): Promise<void> {
  const { workflowId, runId } = wf.workflowInfo();
  const result = state.result();
  const failed = state.failed;
  await notifyAll(notifiers, failed ? 'backup-failed' : 'backup-report', {
    message: () => ({
      severity: failed ? 'critical' : 'info',
      title: failed
        ? `Backup ${result.set} FAILED (${result.failures.length} failure${result.failures.length > 1 ? 's' : ''})`
        : `Backup ${result.set} verified`,
      text: failed ? backupFailureText(result) : backupSuccessText(result),
      details: { workflowId, runId, set: result.set, copy: result.copy, failures: result.failures },
    }),
    summary: (m) => `${failed ? 'alert' : 'report to'} ${m.notifier}`,
    onSent: (m) => state.notified(m.notifier),
  });
}

import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import type { OpsflowConfig } from '../../config/schema';
import type { BackupSetConfig } from '../../config/sections/backups';
import type { ArtifactManifest, DrillRecord } from '../../domain/backup/manifest';
import type { BackupSetPlan } from '../../domain/backup/input';
import type { RetentionOutcome } from '../../domain/backup/report';
import { clientConfig } from '../systems/postgres/connect';
import { dumpDatabase } from './dump';
import { tarArtifact, verifyTar } from './archive';
import { restoreDrill } from './drill';
import { applyRetention } from './retention';
import {
  cacheSha256,
  failedMarkFile,
  readBackupSet,
  verifiedMarkFile,
  type FailedMark,
  type VerifiedMark,
} from './copies';
import { whileHeartbeating } from '../heartbeat';
import { rateBackupAge } from '../../domain/backup/age';
import { corruptSinceVerified } from '../../domain/backup/copy-state';
import type { CheckResult } from '../../domain/health/report';
import { writeJsonAtomic } from './files';

const dumpFileName = (target: string, format: BackupSetConfig['format']) =>
  `db-${target}.${format === 'custom' ? 'dump' : 'sql.gz'}`;

/** The copy an activity works on: `copy` (its stamp) of backup set `set`. */
interface BackupCopy {
  set: string;
  copy: string;
}

/**
 * runbooks §8 backups, one activity per artifact, each idempotent by its copy folder and file name
 * (a retry after a lost result finds the finished artifact), plus the drill and retention.
 */
export function backupActivities(config: OpsflowConfig) {
  const setOf = (name: string): BackupSetConfig => {
    const s = config.backups[name];
    if (!s)
      throw ApplicationFailure.nonRetryable(
        `unknown backup set "${name}" (backups; known: ${Object.keys(config.backups).join(', ') || 'none'})`,
        'UnknownBackupSet',
      );
    return s;
  };
  const copyDir = (set: string, copy: string) => join(setOf(set).destination, copy);
  const markVerified = async (dir: string, m: ArtifactManifest, how: VerifiedMark['how'], drill?: DrillRecord) => {
    writeJsonAtomic(join(dir, verifiedMarkFile(m.file)), {
      sha256: m.sha256,
      bytes: m.bytes,
      verifiedAt: new Date().toISOString(),
      how,
      ...(drill ? { drill } : {}),
    } satisfies VerifiedMark);
    rmSync(join(dir, failedMarkFile(m.file)), { force: true });
    // Hashed again rather than trusting the drill's hash: the file may have changed during the restore.
    await cacheSha256(join(dir, m.file));
  };
  /**
   * Runs a verification; its verdict against the artifact (a non-retryable failure: wrong checksum,
   * restore refused, tables differ) is written beside it, so the readiness gate can say "the drill
   * failed" rather than "never drilled". A retryable error (database unreachable) is no verdict.
   */
  const verdict = async <T>(
    dir: string,
    m: ArtifactManifest,
    how: VerifiedMark['how'],
    verify: () => Promise<T>,
  ): Promise<T> => {
    try {
      return await verify();
    } catch (err) {
      if (err instanceof ApplicationFailure && err.nonRetryable)
        writeJsonAtomic(join(dir, failedMarkFile(m.file)), {
          sha256: m.sha256,
          failedAt: new Date().toISOString(),
          how,
          error: err.message,
        } satisfies FailedMark);
      throw err;
    }
  };

  return {
    async planBackup(input: BackupCopy): Promise<BackupSetPlan> {
      const s = setOf(input.set);
      const directory = copyDir(input.set, input.copy);
      mkdirSync(directory, { recursive: true });
      return {
        set: input.set,
        directory,
        databases: s.databases,
        format: s.format,
        appTree: s.appTree !== undefined,
        configFiles: s.configFiles.length > 0,
        notify: s.notify,
        retentionDays: s.retentionDays,
        minVerifiedCopies: s.minVerifiedCopies,
      };
    },

    async backupDatabase(input: BackupCopy & { target: string }): Promise<ArtifactManifest> {
      const s = setOf(input.set);
      const target = config.postgres[input.target];
      if (!target)
        throw ApplicationFailure.nonRetryable(
          `unknown postgres target "${input.target}" (backups.${input.set}.databases)`,
          'UnknownTarget',
        );
      return dumpDatabase(clientConfig(input.target, target, `backups.${input.set}.databases`), {
        target: input.target,
        format: s.format,
        dir: copyDir(input.set, input.copy),
        file: dumpFileName(input.target, s.format),
      });
    },

    async backupAppTree(input: BackupCopy): Promise<ArtifactManifest> {
      const tree = setOf(input.set).appTree!;
      return tarArtifact({
        kind: 'app-tree',
        dir: copyDir(input.set, input.copy),
        file: 'app.tar.gz',
        paths: [tree.path],
        exclude: tree.exclude,
        tree: true,
      });
    },

    async backupConfigFiles(input: BackupCopy): Promise<ArtifactManifest> {
      const files = setOf(input.set).configFiles;
      return tarArtifact({
        kind: 'config-files',
        dir: copyDir(input.set, input.copy),
        file: 'config.tar.gz',
        paths: files,
        exclude: [],
        tree: false,
      });
    },

    /**
     * The restore drill of one dump; a pass marks it verified in the copy folder. It heartbeats
     * throughout, not only while a tool runs: hashing a large dump takes longer than the heartbeat timeout.
     */
    async drillDatabase(input: BackupCopy & { manifest: ArtifactManifest }): Promise<DrillRecord> {
      return whileHeartbeating(async () => {
        const dir = copyDir(input.set, input.copy);
        const target = input.manifest.database!.target;
        const record = await verdict(dir, input.manifest, 'restore drill', () =>
          restoreDrill(
            clientConfig(target, config.postgres[target], `backups.${input.set}.databases`),
            dir,
            input.manifest,
            input.copy,
          ),
        );
        await markVerified(dir, input.manifest, 'restore drill', record);
        return record;
      });
    },

    async verifyArchive(input: BackupCopy & { manifest: ArtifactManifest }): Promise<void> {
      return whileHeartbeating(async () => {
        const dir = copyDir(input.set, input.copy);
        await verdict(dir, input.manifest, 'tar listing', () => verifyTar(dir, input.manifest));
        await markVerified(dir, input.manifest, 'tar listing');
      });
    },

    /** The health check's "latest verified backup age" of one set. */
    async checkBackupAge(set: string): Promise<CheckResult> {
      const s = setOf(set);
      const state = await readBackupSet(s.destination);
      return rateBackupAge(
        set,
        state.newestVerified?.name,
        Date.now(),
        s.verifiedAgeHours,
        corruptSinceVerified(state.corrupt),
      );
    },

    async applyBackupRetention(input: BackupCopy): Promise<RetentionOutcome> {
      const s = setOf(input.set);
      return applyRetention(s.destination, {
        retentionDays: s.retentionDays,
        minVerifiedCopies: s.minVerifiedCopies,
        current: input.copy,
        nowMs: Date.now(),
      });
    },
  };
}

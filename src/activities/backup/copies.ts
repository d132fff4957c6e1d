import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { COPY_STAMP, type ArtifactManifest, type DrillRecord } from '../../domain/backup/manifest';
import { copyTime } from '../../domain/backup/age';
import type { ArtifactState, BackupSetState, CopyState, VerificationKind } from '../../domain/backup/copy-state';
import { readJson } from './files';

/** What a passed verification leaves beside an artifact: the bytes it proved. */
export interface VerifiedMark {
  sha256: string;
  bytes: number;
  verifiedAt: string;
  how: VerificationKind;
  /** The drill's record (restore time), for a dump. */
  drill?: DrillRecord;
}
export const verifiedMarkFile = (file: string) => `${file}.verified.json`;

/** What a failed verification leaves beside an artifact, so a reader can tell "failed" from "never drilled". */
export interface FailedMark {
  sha256: string;
  failedAt: string;
  how: VerificationKind;
  error: string;
}
export const failedMarkFile = (file: string) => `${file}.verify-failed.json`;

function artifactState(path: string, m: ArtifactManifest): ArtifactState {
  const mark = readJson<VerifiedMark>(join(path, verifiedMarkFile(m.file)));
  if (mark?.sha256 === m.sha256) {
    const intact = existsSync(join(path, m.file)) && statSync(join(path, m.file)).size === m.bytes;
    return intact ? { file: m.file, state: 'verified', how: mark.how, verifiedAt: mark.verifiedAt, ...(mark.drill ? { drill: mark.drill } : {}) } : { file: m.file, state: 'changed' };
  }
  const failed = readJson<FailedMark>(join(path, failedMarkFile(m.file)));
  if (failed?.sha256 === m.sha256) return { file: m.file, state: 'failed', how: failed.how, failedAt: failed.failedAt, error: failed.error };
  return { file: m.file, state: 'unverified' };
}

/**
 * A copy is verified when it has artifacts and each one has a verification mark for the bytes its
 * manifest names, and the file is still there with that size (a deleted or truncated artifact
 * un-verifies its copy: a check that says ok for missing files is worse than none).
 */
export function describeCopy(dir: string, name: string): CopyState {
  const path = join(dir, name);
  const files = readdirSync(path);
  let mtimeMs = 0;
  let bytes = 0;
  for (const f of files) {
    const s = statSync(join(path, f));
    mtimeMs = Math.max(mtimeMs, s.mtimeMs);
    bytes += s.size;
  }
  const manifests = files.filter((f) => f.endsWith('.manifest.json')).map((f) => readJson<ArtifactManifest>(join(path, f))!);
  const artifacts = manifests.map((m) => artifactState(path, m));
  const verified = artifacts.length > 0 && artifacts.every((a) => a.state === 'verified');
  return { name, path, takenAtMs: copyTime(name), mtimeMs, bytes, verified, artifacts };
}

/** Every copy folder in `dir`, oldest first (their names sort by time). */
export function backupCopies(dir: string): CopyState[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => COPY_STAMP.test(n))
        .sort()
        .map((n) => describeCopy(dir, n))
    : [];
}

/**
 * A backup set's state on disk: what the health check's backup age, the readiness gate's backup
 * item and the daily report read, so the three never disagree about which copy counts.
 */
export function readBackupSet(dir: string): BackupSetState {
  const copies = backupCopies(dir);
  const newest = copies.at(-1);
  const newestVerified = copies.filter((c) => c.verified).at(-1);
  return { destination: dir, copies: copies.length, ...(newest ? { newest } : {}), ...(newestVerified ? { newestVerified } : {}) };
}

/** The slowest restore drill recorded in a copy folder (its RTO), if any. */
export function latestDrill(copyDir: string): DrillRecord | undefined {
  const drills = readdirSync(copyDir)
    .filter((f) => f.endsWith('.verified.json'))
    .map((f) => readJson<VerifiedMark>(join(copyDir, f))?.drill)
    .filter((d): d is DrillRecord => d !== undefined);
  return drills.sort((a, b) => b.restoreSeconds - a.restoreSeconds)[0];
}

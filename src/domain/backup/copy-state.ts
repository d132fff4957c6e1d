import type { DrillRecord } from './manifest';
import type { CopyInfo } from './retention';

/** How an artifact is proved: a dump by its restore drill, a tar by listing it. */
export type VerificationKind = 'restore drill' | 'tar listing';

/**
 * One artifact of a copy as its verification left it. `changed`: it was verified, but the file is
 * gone or no longer has the size it had (it proves nothing any more); `unverified`: no verdict was
 * recorded (a run with `drill: false`, or one still running).
 */
export type ArtifactState =
  | { file: string; state: 'verified'; how: VerificationKind; verifiedAt: string; drill?: DrillRecord }
  | { file: string; state: 'failed'; how: VerificationKind; failedAt: string; error: string }
  | { file: string; state: 'changed' }
  | { file: string; state: 'unverified' };

/** One copy folder with what each of its artifacts' verification says. */
export interface CopyState extends CopyInfo {
  /** The copy's folder. */
  path: string;
  /** When the run that wrote it started (from the folder's name). */
  takenAtMs: number;
  artifacts: ArtifactState[];
}

/** A backup set's destination as the backup activities read it: how many copies, the newest, the newest verified. */
export interface BackupSetState {
  destination: string;
  copies: number;
  newest?: CopyState;
  /** The newest copy every artifact of which is verified now. */
  newestVerified?: CopyState;
}

/** Why a copy is not verified, in words: the first artifact that keeps it from being so. */
export function whyUnverified(c: CopyState): string {
  if (c.artifacts.length === 0) return 'has no finished artifact';
  const failed = c.artifacts.find((a) => a.state === 'failed');
  if (failed?.state === 'failed') return `failed its ${failed.how} of ${failed.file} at ${failed.failedAt}: ${failed.error}`;
  const changed = c.artifacts.find((a) => a.state === 'changed');
  if (changed) return `has ${changed.file} deleted or changed after it was verified`;
  const pending = c.artifacts.find((a) => a.state === 'unverified');
  if (pending) return `has no verification of ${pending.file} (drill off, or the run still going)`;
  return 'is verified';
}

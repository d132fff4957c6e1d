import type { DrillRecord } from './manifest';
import type { CopyInfo } from './retention';

/** How an artifact is proved: a dump by its restore drill, a tar by listing it. */
export type VerificationKind = 'restore drill' | 'tar listing';

/**
 * One artifact of a copy as its verification left it. `changed`: it was verified, but the file is
 * gone or no longer has the size it had; `corrupt`: it was verified and still has its size, but its
 * bytes no longer hash to the manifest's sha256 (either way it proves nothing any more);
 * `unverified`: no verdict was recorded (a run with `drill: false`, or one still running).
 */
export type ArtifactState =
  | { file: string; state: 'verified'; how: VerificationKind; verifiedAt: string; drill?: DrillRecord }
  | { file: string; state: 'failed'; how: VerificationKind; failedAt: string; error: string }
  | { file: string; state: 'changed' }
  | { file: string; state: 'corrupt'; verifiedAt: string; sha256: string }
  | { file: string; state: 'unverified' };

/** One copy folder with what each of its artifacts' verification says. */
export interface CopyState extends CopyInfo {
  /** The copy's folder. */
  path: string;
  artifacts: ArtifactState[];
}

/** A backup set's destination as the backup activities read it: how many copies, the newest, the newest verified. */
export interface BackupSetState {
  destination: string;
  /** Copy folders holding at least one finished artifact (an empty folder of a failed run is no copy). */
  copies: number;
  /** What the copies take on disk, in bytes. */
  totalBytes: number;
  newest?: CopyState;
  /** The newest copy every artifact of which is verified now. */
  newestVerified?: CopyState;
  /** Every copy with an artifact whose bytes changed after it was verified, oldest first. */
  corrupt: CopyState[];
}

/** The artifacts of a copy whose bytes no longer match the sha256 they were verified with. */
const corruptFiles = (c: CopyState): string[] => c.artifacts.filter((a) => a.state === 'corrupt').map((a) => a.file);

/** `corrupt since verified: <copy> (<files>), …`, or undefined when no copy is corrupt. */
export function corruptSinceVerified(copies: readonly CopyState[]): string | undefined {
  return copies.length
    ? `corrupt since verified: ${copies.map((c) => `${c.name} (${corruptFiles(c).join(', ')})`).join(', ')}`
    : undefined;
}

/** `1 copy`, `2 copies`. */
export const copiesText = (n: number) => `${n} ${n === 1 ? 'copy' : 'copies'}`;

/** Why a copy is not verified, in words: the first artifact that keeps it from being so. */
export function whyUnverified(c: CopyState): string {
  if (c.artifacts.length === 0) return 'has no finished artifact';
  const corrupt = c.artifacts.find((a) => a.state === 'corrupt');
  if (corrupt?.state === 'corrupt')
    return `has ${corrupt.file} corrupt since verified (verified ${corrupt.verifiedAt}; its sha256 no longer matches its manifest)`;
  const failed = c.artifacts.find((a) => a.state === 'failed');
  if (failed?.state === 'failed')
    return `failed its ${failed.how} of ${failed.file} at ${failed.failedAt}: ${failed.error}`;
  const changed = c.artifacts.find((a) => a.state === 'changed');
  if (changed) return `has ${changed.file} deleted or changed after it was verified`;
  const pending = c.artifacts.find((a) => a.state === 'unverified');
  if (pending) return `has no verification of ${pending.file} (drill off, or the run still going)`;
  return 'is verified';
}

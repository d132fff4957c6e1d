import { existsSync, readdirSync, renameSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { COPY_STAMP, type ArtifactManifest, type DrillRecord } from '../../domain/backup/manifest';
import { copyTime } from '../../domain/backup/age';
import type { ArtifactState, BackupSetState, CopyState, VerificationKind } from '../../domain/backup/copy-state';
import { readJson, sha256File } from './files';

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

/**
 * The sha256 the reader last computed for an artifact, with the file's identity at the time. Any
 * write to the file changes its mtime and ctime (and a restored mtime still changes the ctime), a
 * replaced file has another inode: then the hash is computed again.
 */
interface HashCache {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  sha256: string;
  hashedAt: string;
}
export const hashCacheFile = (file: string) => `${file}.sha256-cache.json`;

let hashed = 0;
/** How many files the reader has hashed in this process (the cache's effect, for tests and logs). */
export const filesHashed = () => hashed;

type FileIdentity = Pick<HashCache, 'size' | 'mtimeMs' | 'ctimeMs' | 'ino'>;
const identity = (s: Stats): FileIdentity => ({ size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino });
const sameFile = (a: FileIdentity, b: FileIdentity) =>
  a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;

function readCache(cacheFile: string): HashCache | undefined {
  try {
    return readJson<HashCache>(cacheFile);
  } catch {
    return undefined; // a torn or foreign file is no cache
  }
}

/** The artifact's sha256 now: from its cache while the file is unchanged, else hashed (and cached). */
async function currentSha256(path: string, before: Stats): Promise<string> {
  const cacheFile = hashCacheFile(path);
  const cached = readCache(cacheFile);
  if (cached && sameFile(cached, identity(before))) return cached.sha256;
  const sha256 = await sha256File(path);
  hashed++;
  // Cached only if the file did not change while it was read; a reader that cannot write (another
  // user, a read-only mount) still checks, just without the saving.
  const after = identity(statSync(path));
  if (sameFile(identity(before), after)) {
    const tmp = `${cacheFile}.partial-${process.pid}-${hashed}`;
    try {
      writeFileSync(
        tmp,
        JSON.stringify({ ...after, sha256, hashedAt: new Date().toISOString() } satisfies HashCache) + '\n',
      );
      renameSync(tmp, cacheFile);
    } catch {
      /* no cache this time */
    }
  }
  return sha256;
}

/**
 * Hashes a just-verified artifact into its cache, so that the readers that follow (retention in the
 * same run, every health check) need not read the whole file again while it is unchanged.
 */
export async function cacheSha256(path: string): Promise<string> {
  return currentSha256(path, statSync(path));
}

async function artifactState(path: string, m: ArtifactManifest): Promise<ArtifactState> {
  const mark = readJson<VerifiedMark>(join(path, verifiedMarkFile(m.file)));
  if (mark?.sha256 === m.sha256) {
    const file = join(path, m.file);
    const stat = existsSync(file) ? statSync(file) : undefined;
    if (stat?.size !== m.bytes) return { file: m.file, state: 'changed' };
    const sha256 = await currentSha256(file, stat);
    if (sha256 !== m.sha256) return { file: m.file, state: 'corrupt', verifiedAt: mark.verifiedAt, sha256 };
    return {
      file: m.file,
      state: 'verified',
      how: mark.how,
      verifiedAt: mark.verifiedAt,
      ...(mark.drill ? { drill: mark.drill } : {}),
    };
  }
  const failed = readJson<FailedMark>(join(path, failedMarkFile(m.file)));
  if (failed?.sha256 === m.sha256)
    return { file: m.file, state: 'failed', how: failed.how, failedAt: failed.failedAt, error: failed.error };
  return { file: m.file, state: 'unverified' };
}

const manifestsIn = (files: string[]) => files.filter((f) => f.endsWith('.manifest.json'));

/**
 * A copy is verified when it has artifacts and each one has a verification mark for the bytes its
 * manifest names, and the file is still there with that size and that sha256 (a deleted, truncated
 * or altered artifact un-verifies its copy: a check that says ok for broken files is worse than none).
 */
async function describeCopy(dir: string, name: string): Promise<CopyState> {
  const path = join(dir, name);
  const files = readdirSync(path);
  let bytes = 0;
  for (const f of files) bytes += statSync(join(path, f)).size;
  const artifacts: ArtifactState[] = [];
  for (const f of manifestsIn(files))
    artifacts.push(await artifactState(path, readJson<ArtifactManifest>(join(path, f))!));
  const verified = artifacts.length > 0 && artifacts.every((a) => a.state === 'verified');
  return { name, path, takenAtMs: copyTime(name), bytes, verified, artifacts };
}

const copyFolders = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => COPY_STAMP.test(n))
        .sort()
    : [];
const hasArtifact = (dir: string, name: string) => manifestsIn(readdirSync(join(dir, name))).length > 0;

/**
 * Copy folders in `dir` that hold no finished artifact (a run whose every step failed, or one cut
 * short): they are no copy, and retention removes them.
 */
export const unfinishedCopyFolders = (dir: string): string[] => copyFolders(dir).filter((n) => !hasArtifact(dir, n));

/** Every copy in `dir` (a folder with at least one finished artifact), oldest first (their names sort by time). */
export async function backupCopies(dir: string): Promise<CopyState[]> {
  const copies: CopyState[] = [];
  for (const n of copyFolders(dir)) if (hasArtifact(dir, n)) copies.push(await describeCopy(dir, n));
  return copies;
}

/**
 * A backup set's state on disk: what retention, the health check's backup age, the readiness
 * gate's backup item and the daily report read, so they never disagree about which copy counts.
 */
export async function readBackupSet(dir: string): Promise<BackupSetState> {
  const copies = await backupCopies(dir);
  const newest = copies.at(-1);
  const newestVerified = copies.filter((c) => c.verified).at(-1);
  const corrupt = copies.filter((c) => c.artifacts.some((a) => a.state === 'corrupt'));
  return {
    destination: dir,
    copies: copies.length,
    totalBytes: copies.reduce((n, c) => n + c.bytes, 0),
    ...(newest ? { newest } : {}),
    ...(newestVerified ? { newestVerified } : {}),
    corrupt,
  };
}

/** The slowest restore drill recorded in a copy folder (its RTO), if any. */
export function latestDrill(copyDir: string): DrillRecord | undefined {
  const drills = readdirSync(copyDir)
    .filter((f) => f.endsWith('.verified.json'))
    .map((f) => readJson<VerifiedMark>(join(copyDir, f))?.drill)
    .filter((d): d is DrillRecord => d !== undefined);
  return drills.sort((a, b) => b.restoreSeconds - a.restoreSeconds)[0];
}

import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { COPY_STAMP, type ArtifactManifest, type DrillRecord } from '../../domain/backup/manifest';
import { planRetention, type CopyInfo, type RetentionOutcome } from '../../domain/backup/retention';
import { readJson } from './files';

/** What a passed verification leaves beside an artifact: the bytes it proved. */
export interface VerifiedMark {
  sha256: string;
  bytes: number;
  verifiedAt: string;
  how: 'restore drill' | 'tar listing';
  /** The drill's record (restore time), for a dump. */
  drill?: DrillRecord;
}
export const verifiedMarkFile = (file: string) => `${file}.verified.json`;

/**
 * A copy is verified when it has artifacts and each one has a verification mark for the bytes its
 * manifest names, and the file is still there with that size (a deleted or truncated artifact
 * un-verifies its copy: a check that says ok for missing files is worse than none).
 */
export function describeCopy(dir: string, name: string): CopyInfo {
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
  const verified =
    manifests.length > 0 &&
    manifests.every((m) => {
      const mark = readJson<VerifiedMark>(join(path, verifiedMarkFile(m.file)));
      return mark?.sha256 === m.sha256 && existsSync(join(path, m.file)) && statSync(join(path, m.file)).size === m.bytes;
    });
  return { name, mtimeMs, bytes, verified };
}

const copiesIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => COPY_STAMP.test(n)).map((n) => describeCopy(dir, n)) : []);

/** The newest copy in `dir` that is verified now (its files still there), if any. */
export function newestVerifiedCopy(dir: string): string | undefined {
  return copiesIn(dir)
    .filter((c) => c.verified)
    .map((c) => c.name)
    .sort()
    .pop();
}

/** Applies the retention rules (domain/backup/retention.ts) to the copies in `dir`; reports what it did. */
export function applyRetention(dir: string, o: { retentionDays: number; minVerifiedCopies: number; current: string; nowMs: number }): RetentionOutcome {
  const plan = planRetention(copiesIn(dir), o.nowMs, o.retentionDays, o.minVerifiedCopies, o.current);
  for (const c of plan.delete) rmSync(join(dir, c.name), { recursive: true, force: true });
  return {
    deleted: plan.delete.map((c) => c.name),
    keptExpired: plan.keptExpired,
    copies: plan.keep.length,
    verifiedCopies: plan.keep.filter((c) => c.verified).length,
    totalBytes: plan.keep.reduce((n, c) => n + c.bytes, 0),
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

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { planRetention, type RetentionOutcome } from '../../domain/backup/retention';
import { corruptSinceVerified } from '../../domain/backup/copy-state';
import { backupCopies, unfinishedCopyFolders } from './copies';

/**
 * Applies the retention rules (domain/backup/retention.ts) to the copies in `dir`; reports what it
 * did. Copy folders with no finished artifact (this run's, when every step failed, or a run cut
 * short) are removed first: they hold nothing to restore, and a reader must not count them.
 */
export async function applyRetention(
  dir: string,
  o: { retentionDays: number; minVerifiedCopies: number; current: string; nowMs: number },
): Promise<RetentionOutcome> {
  const unfinished = unfinishedCopyFolders(dir);
  for (const name of unfinished) rmSync(join(dir, name), { recursive: true, force: true });
  const copies = await backupCopies(dir);
  const plan = planRetention(copies, o.nowMs, o.retentionDays, o.minVerifiedCopies, o.current);
  for (const c of plan.delete) rmSync(join(dir, c.name), { recursive: true, force: true });
  const kept = new Set(plan.keep.map((c) => c.name));
  const corrupt = corruptSinceVerified(
    copies.filter((c) => kept.has(c.name) && c.artifacts.some((a) => a.state === 'corrupt')),
  );
  return {
    deleted: plan.delete.map((c) => c.name),
    keptExpired: plan.keptExpired,
    copies: plan.keep.length,
    verifiedCopies: plan.keep.filter((c) => c.verified).length,
    totalBytes: plan.keep.reduce((n, c) => n + c.bytes, 0),
    ...(unfinished.length ? { removedUnfinished: unfinished } : {}),
    ...(corrupt ? { corrupt } : {}),
  };
}

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { planRetention, type RetentionOutcome } from '../../domain/backup/retention';
import { backupCopies } from './copies';

/** Applies the retention rules (domain/backup/retention.ts) to the copies in `dir`; reports what it did. */
export function applyRetention(dir: string, o: { retentionDays: number; minVerifiedCopies: number; current: string; nowMs: number }): RetentionOutcome {
  const plan = planRetention(backupCopies(dir), o.nowMs, o.retentionDays, o.minVerifiedCopies, o.current);
  for (const c of plan.delete) rmSync(join(dir, c.name), { recursive: true, force: true });
  return {
    deleted: plan.delete.map((c) => c.name),
    keptExpired: plan.keptExpired,
    copies: plan.keep.length,
    verifiedCopies: plan.keep.filter((c) => c.verified).length,
    totalBytes: plan.keep.reduce((n, c) => n + c.bytes, 0),
  };
}

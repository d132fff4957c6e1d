/** One run's folder as retention sees it. */
export interface CopyInfo {
  name: string;
  /**
   * When the run that wrote it started, from the folder's name: the copy's age everywhere
   * (retention, health check, readiness, report). Touching or copying its files does not make it young.
   */
  takenAtMs: number;
  bytes: number;
  /** A drill passed on it and the files it proved are still there with their sizes and sha256. */
  verified: boolean;
}

export interface RetentionPlan {
  delete: CopyInfo[];
  keep: CopyInfo[];
  /** Why an expired copy is kept, in words (the verified copies kept below the minimum). */
  keptExpired: string[];
}

/**
 * Which copies go: those older than the retention, except the newest `minVerified` verified copies,
 * which stay whatever their age (so a run of failed drills never leaves nothing restorable), and
 * `current` (the copy being written). Pure, so every rule is unit-tested.
 */
export function planRetention(
  copies: CopyInfo[],
  nowMs: number,
  retentionDays: number,
  minVerified: number,
  current?: string,
): RetentionPlan {
  const cutoff = nowMs - retentionDays * 86_400_000;
  const newestFirst = [...copies].sort((a, b) => b.name.localeCompare(a.name));
  const protectedNames = new Set(
    newestFirst
      .filter((c) => c.verified)
      .slice(0, minVerified)
      .map((c) => c.name),
  );
  const plan: RetentionPlan = { delete: [], keep: [], keptExpired: [] };
  for (const c of newestFirst) {
    const expired = c.takenAtMs < cutoff && c.name !== current;
    if (expired && !protectedNames.has(c.name)) plan.delete.push(c);
    else {
      plan.keep.push(c);
      if (expired)
        plan.keptExpired.push(
          `${c.name}: older than ${retentionDays} days, kept as one of the last ${minVerified} verified copies`,
        );
    }
  }
  return plan;
}

export interface RetentionOutcome {
  deleted: string[];
  keptExpired: string[];
  copies: number;
  verifiedCopies: number;
  /** Copy folders of failed runs that held no finished artifact, removed (not counted as copies). */
  removedUnfinished?: string[];
  /** Copies kept whose files changed after their verification (`corrupt since verified: …`). */
  corrupt?: string;
  /** Every copy left in the destination, in bytes. */
  totalBytes: number;
}

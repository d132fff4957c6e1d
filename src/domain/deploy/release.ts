/**
 * Releases on a host, Capistrano's layout: `<path>/releases/<time>-<commit>` and `<path>/current`,
 * a symlink to one of them. Pure: the activities read the directory and ask these rules.
 */

/** `20261124033400-<40 hex>`: the UTC time the deploy started, then the commit it deploys. */
export const releaseNamePattern = /^(\d{14})-([0-9a-f]{40})$/;

/** Written into a release only after its health check passed: only these count as good. */
export const COMPLETE_MARKER = '.opsflow-complete';
/** Written into a release whose host failed with it: never a rollback target, never counted. */
export const FAILED_MARKER = '.opsflow-failed';
/**
 * A release is built under this prefix and renamed when whole, so a kill mid-build leaves a
 * directory that no rule mistakes for a release (and the next build removes it).
 */
export const BUILDING_PREFIX = '.building-';

/** The name is fixed once per deploy (workflow time), so every retry and every host uses the same one. */
export function releaseName(startedAt: Date, commit: string): string {
  const t = startedAt.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const name = `${t}-${commit}`;
  if (!releaseNamePattern.test(name)) throw new Error(`not a full commit id: ${JSON.stringify(commit)}`);
  return name;
}

export function parseReleaseName(name: string): { time: string; commit: string } | undefined {
  const m = releaseNamePattern.exec(name);
  return m ? { time: m[1], commit: m[2] } : undefined;
}

export type ReleaseState = 'complete' | 'failed' | 'incomplete';

export interface ReleaseEntry {
  name: string;
  state: ReleaseState;
}

/** Failed wins over complete: a release that once passed and then failed on a host is not trusted. */
export function releaseState(markers: { complete: boolean; failed: boolean }): ReleaseState {
  if (markers.failed) return 'failed';
  return markers.complete ? 'complete' : 'incomplete';
}

/** Directory entries that are releases, oldest first (the names sort by time). */
export function releasesOf(entries: ReleaseEntry[]): ReleaseEntry[] {
  return entries.filter((e) => releaseNamePattern.test(e.name)).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Where a rollback of this host goes: the named release if it is complete, else the newest
 * complete release older than `current` (a failed or unfinished one is never a target).
 */
export function rollbackTarget(
  entries: ReleaseEntry[],
  current: string | undefined,
  named?: string,
): { ok: true; release: string } | { ok: false; reason: string } {
  const releases = releasesOf(entries);
  if (named !== undefined) {
    const r = releases.find((e) => e.name === named);
    if (!r) return { ok: false, reason: `release ${named} is not on this host` };
    if (r.state !== 'complete') return { ok: false, reason: `release ${named} is ${r.state}, not complete` };
    return { ok: true, release: named };
  }
  const older = releases.filter(
    (e) => e.state === 'complete' && e.name !== current && (current === undefined || e.name < current),
  );
  const target = older[older.length - 1];
  return target
    ? { ok: true, release: target.name }
    : { ok: false, reason: `no complete release before ${current ?? '(none)'}` };
}

/**
 * The releases to delete: the newest `keep` complete releases stay, and so do `current`, the
 * newest complete release before it (the rollback target) and anything `protect` names (the
 * release being deployed). A failed release (rolled back, or built by a run whose host failed) is
 * never counted and is the first to go: every prune removes it. An unmarked release (a build a
 * killed or cancelled run left before marking it) is not counted either; it is kept while newer
 * than the oldest kept complete release (someone may want to look at it) and goes after.
 */
export function releasesToPrune(
  entries: ReleaseEntry[],
  current: string | undefined,
  keep: number,
  protect: string[] = [],
): string[] {
  if (keep < 1) throw new Error(`keep must be at least 1, got ${keep}`);
  const releases = releasesOf(entries);
  const complete = releases.filter((e) => e.state === 'complete');
  const kept = new Set(complete.slice(-keep).map((e) => e.name));
  if (current !== undefined) kept.add(current);
  const previous = rollbackTarget(entries, current);
  if (previous.ok) kept.add(previous.release);
  for (const p of protect) kept.add(p);
  const oldestKept = [...kept].filter((n) => releases.some((r) => r.name === n)).sort()[0];
  return releases
    .filter((e) => !kept.has(e.name))
    .filter((e) => e.state !== 'incomplete' || oldestKept === undefined || e.name < oldestKept)
    .map((e) => e.name);
}

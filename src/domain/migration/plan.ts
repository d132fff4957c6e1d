/**
 * The pure decisions of a data migration: how the key space is cut into chunks, how a chunk whose
 * checksums differ is bisected down to keys, and the figures an operator reads. Keys travel as
 * text (PostgreSQL casts them back to the key's type), so bigint and uuid keys survive intact.
 */

/** A keyset range `lo < key <= hi`; `lo` null is "from the first key", `hi` null "to the last". */
export interface KeyRange {
  lo: string | null;
  hi: string | null;
}

export interface Chunk extends KeyRange {
  no: number;
}

/**
 * Chunks from the ordered keys that end each chunk (every chunk-size-th key, and the last key).
 * The first chunk is open below and the last open above, so together they cover every key: rows
 * inserted above the last key while the migration runs are copied with the last chunk, and a
 * verification also sees target rows outside the source's key range.
 */
export function chunksFromBoundaries(boundaries: string[]): Chunk[] {
  const ends = boundaries.filter((k, i) => i === 0 || k !== boundaries[i - 1]);
  return ends.map((hi, i) => ({ no: i, lo: i === 0 ? null : ends[i - 1], hi: i === ends.length - 1 ? null : hi }));
}

/** Contiguous sub-ranges of `range` cut at `splits` (ascending keys strictly inside the range). */
export function splitRange(range: KeyRange, splits: string[]): KeyRange[] {
  const cuts = splits.filter((k, i) => (i === 0 || k !== splits[i - 1]) && k !== range.hi);
  const out: KeyRange[] = [];
  let lo = range.lo;
  for (const cut of cuts) {
    out.push({ lo, hi: cut });
    lo = cut;
  }
  out.push({ lo, hi: range.hi });
  return out;
}

/** An order-independent summary of one side of a range: row count and the exact sum of 64-bit row hashes. */
export interface RangeSums {
  rows: number;
  sum: string;
}

export interface BisectionSettings {
  /** A range with at most this many rows on either side is compared key by key. */
  rowThreshold: number;
  /** How many sub-ranges a larger differing range is cut into. */
  factor: number;
}

export const defaultBisection: BisectionSettings = { rowThreshold: 1_000, factor: 16 };

export type BisectionStep = 'equal' | 'compare-rows' | 'split';

/**
 * What to do with a range given both sides' sums: nothing when they agree, compare row hashes
 * when it is small (or cannot be cut further), otherwise cut it and checksum the parts (data-diff's
 * bisection: only differing parts are ever looked at row by row).
 */
export function bisectionStep(
  source: RangeSums,
  target: RangeSums,
  s: BisectionSettings,
  splittable = true,
): BisectionStep {
  if (source.rows === target.rows && source.sum === target.sum) return 'equal';
  if (!splittable || Math.max(source.rows, target.rows) <= s.rowThreshold) return 'compare-rows';
  return 'split';
}

/** Every `step`-th row is a cut, so that `rows` rows fall into about `factor` parts. */
export function splitStep(rows: number, factor: number): number {
  return Math.max(1, Math.ceil(rows / Math.max(2, factor)));
}

export interface KeyDiff {
  /** On the source, not on the target. */
  missing: string[];
  /** On the target, not on the source (within the range). */
  extra: string[];
  /** On both, with different mapped values. */
  differing: string[];
}

/** Row-level comparison of (key, hash) pairs from both sides. */
export function diffRowHashes(source: [string, string][], target: [string, string][]): KeyDiff {
  const t = new Map(target);
  const s = new Map(source);
  const missing: string[] = [];
  const differing: string[] = [];
  for (const [k, h] of source) {
    const other = t.get(k);
    if (other === undefined) missing.push(k);
    else if (other !== h) differing.push(k);
  }
  const extra = target.filter(([k]) => !s.has(k)).map(([k]) => k);
  return { missing, extra, differing };
}

type MismatchKind = keyof KeyDiff;
/** How many keys of a kind were found, and the first of them, as far as a report lists them. */
interface Found {
  count: number;
  keys: string[];
}
/** Counts of each kind and the first keys of each. */
export type MismatchReport = { chunks: number[] } & Record<MismatchKind, Found>;

/** The kinds of a report, each made by `f`, in the report's order. */
const eachKind = (f: (kind: MismatchKind) => Found): Record<MismatchKind, Found> => ({
  missing: f('missing'),
  extra: f('extra'),
  differing: f('differing'),
});

export function emptyMismatches(): MismatchReport {
  return { chunks: [], ...eachKind(() => ({ count: 0, keys: [] })) };
}

export function mismatchCount(m: Record<MismatchKind, Found>): number {
  return m.missing.count + m.extra.count + m.differing.count;
}

/** Adds one chunk's findings to the running report, keeping at most `limit` keys of each kind. */
export function addMismatches(
  report: MismatchReport,
  chunkNo: number,
  found: MismatchReport,
  limit: number,
): MismatchReport {
  if (mismatchCount(found) === 0) return report;
  return {
    // Chunks finish in parallel; listing them in key order keeps the report the same on every run.
    chunks: report.chunks.includes(chunkNo)
      ? report.chunks
      : [...report.chunks, chunkNo].sort((a, b) => a - b).slice(0, 1000),
    ...eachKind((k) => ({
      count: report[k].count + found[k].count,
      keys: [...report[k].keys, ...found[k].keys].slice(0, limit),
    })),
  };
}

/** A report from full key lists, counting them all and listing the first `limit`. */
export function reportFromDiff(chunkNo: number, diff: KeyDiff, limit: number): MismatchReport {
  const r = { chunks: [chunkNo], ...eachKind((k) => ({ count: diff[k].length, keys: diff[k].slice(0, limit) })) };
  return mismatchCount(r) ? r : emptyMismatches();
}

/**
 * An activity's chunk reports as the workflow receives them: every count kept, but keys listed
 * only until `limit` of each kind have been listed across the reports, in their order. The
 * workflow's running report keeps the first `limit` keys of each kind in the order reports arrive,
 * so it lists exactly the same keys; what this bounds is the activity's result in history, which
 * would otherwise grow with the chunks per activity (32 × `reportKeys` keys of each kind).
 */
export function boundReportKeys(reports: MismatchReport[], limit: number): MismatchReport[] {
  const left = { missing: limit, extra: limit, differing: limit };
  return reports.map((r) => {
    const take = (kind: MismatchKind) => {
      const keys = r[kind].keys.slice(0, Math.max(0, left[kind]));
      left[kind] -= keys.length;
      return { count: r[kind].count, keys };
    };
    return { chunks: r.chunks, ...eachKind(take) };
  });
}

/** One line naming the chunks and keys, for the failure message and the log. */
export function describeMismatches(m: MismatchReport): string {
  const kind = (label: string, k: Found) =>
    k.count ? `${k.count} ${label} (${k.keys.join(', ')}${k.count > k.keys.length ? ', …' : ''})` : undefined;
  const parts = [
    kind('missing on target', m.missing),
    kind('extra on target', m.extra),
    kind('differing', m.differing),
  ].filter(Boolean);
  return `verification failed in chunk${m.chunks.length > 1 ? 's' : ''} ${m.chunks.join(', ')}: ${parts.join('; ')}`;
}

/** Throughput and time left, from the activities' own clocks (workflow code reads no clock). */
export function progressFigures(p: {
  rows: number;
  startedAtMs?: number;
  lastAtMs?: number;
  rowsTotal: number;
  rowsDone: number;
}): {
  rowsPerSecond: number;
  etaSeconds: number | null;
} {
  if (p.startedAtMs === undefined || p.lastAtMs === undefined || p.lastAtMs <= p.startedAtMs || p.rows <= 0) {
    return { rowsPerSecond: 0, etaSeconds: null };
  }
  const rate = p.rows / ((p.lastAtMs - p.startedAtMs) / 1000);
  const left = Math.max(0, p.rowsTotal - p.rowsDone);
  return { rowsPerSecond: Math.round(rate), etaSeconds: Math.ceil(left / rate) };
}

/**
 * How many chunks one copy activity took before copy segments (see `copyChunksPerActivity`): up to
 * `max` while much remains, one near the end so that the lanes finish together. Kept for the runs
 * recorded before, which replay with it.
 */
export function chunksPerActivity(remaining: number, parallelism: number, max = 4): number {
  return Math.max(1, Math.min(max, Math.floor(remaining / (parallelism * 4))));
}

/**
 * How many chunks one verification activity takes: an even share of what remains across the lanes,
 * up to `max`. A matching chunk costs two hashing statements and no write of its own, so a chunk's
 * share of an activity's round trip and workflow task is what a lane would otherwise spend: the
 * lanes become a few long segments, each hashed on both databases at once, in parallel.
 */
export function verifyChunksPerActivity(remaining: number, parallelism: number, max = VERIFY_SEGMENT_CHUNKS): number {
  return Math.max(1, Math.min(max, Math.ceil(remaining / Math.max(1, parallelism))));
}

/** The most chunks one verification activity takes (and so, times the lanes, one refill of the queue). */
export const VERIFY_SEGMENT_CHUNKS = 32;

/**
 * How many chunks one copy activity takes: an even share of what remains across the lanes, up to
 * COPY_SEGMENT_CHUNKS. Each activity costs a workflow task, a wait for the next one to be scheduled
 * and a WAL flush (~70 ms together on the 2-core bench machine, against ~100–200 ms of a 10 000-row
 * chunk in a lane); taking one chunk at a time near the end made half the activities of a run.
 * Each chunk is still its own transaction and progress row, so a retry redoes at most the chunk
 * in flight; the cap bounds how long a pause waits for the chunks in flight.
 */
export function copyChunksPerActivity(remaining: number, parallelism: number): number {
  return verifyChunksPerActivity(remaining, parallelism, COPY_SEGMENT_CHUNKS);
}

/** The most chunks one copy activity takes (and so, times the lanes, one refill of the queue). */
export const COPY_SEGMENT_CHUNKS = 8;

/**
 * Continue-as-new after `chunksPerRun` chunks, or sooner when the server suggests it: each chunk
 * costs a handful of history events, so a 1000-chunk table spreads over several short histories.
 */
export function shouldContinueAsNew(chunksThisRun: number, chunksPerRun: number, serverSuggests: boolean): boolean {
  return serverSuggests || chunksThisRun >= chunksPerRun;
}

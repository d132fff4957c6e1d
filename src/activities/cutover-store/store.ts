import type { Client } from 'pg';
import type { OpsflowConfig } from '../../config/schema';
import { quoteSchema, storeRefFrom, withMigratedStore, type StoreRef } from '../systems/postgres/store-migrations';
import { cutoverStore } from './migrations';
import type { Cohort } from '../../domain/cutover/cohort';
import type { SqlPages } from '../systems/directory/directory';

/** Snapshots and prior routes in PostgreSQL (config.cutover.store). */
export type CutoverStore = StoreRef;

export function cutoverStoreRef(config: OpsflowConfig): CutoverStore {
  return storeRefFrom(
    config,
    config.cutover.store,
    'cutover.store',
    "a cutover keeps each batch's members and their prior routes in PostgreSQL",
    'CutoverStoreNotConfigured',
  );
}

export type CutoverTables = { snapshots: string; runs: string; members: string; priors: string; cursors: string };

export function withCutoverStore<T>(ref: CutoverStore, fn: (c: Client, t: CutoverTables) => Promise<T>): Promise<T> {
  const q = quoteSchema(ref.schema);
  return withMigratedStore(ref.config, ref.schema, cutoverStore, (c) =>
    fn(c, {
      snapshots: `${q}.cutover_snapshots`,
      runs: `${q}.cutover_runs`,
      members: `${q}.cutover_member_pages`,
      priors: `${q}.cutover_prior_pages`,
      cursors: `${q}.cutover_pass_cursors`,
    }),
  );
}

/** The run's small integer id, which keys its pages; created with the run's first snapshot. */
async function runId(c: Client, t: CutoverTables, runKey: string): Promise<number> {
  const r = await c.query(
    `WITH ins AS (INSERT INTO ${t.runs} (run_key) VALUES ($1) ON CONFLICT (run_key) DO NOTHING RETURNING id)
     SELECT id FROM ins UNION ALL SELECT id FROM ${t.runs} WHERE run_key = $1`,
    [runKey],
  );
  return Number(r.rows[0].id);
}

/** The member count of a batch's finished snapshot, or undefined when none was finished. */
async function snapshotSize(c: Client, t: CutoverTables, runKey: string, batch: number): Promise<number | undefined> {
  const r = await c.query(`SELECT members FROM ${t.snapshots} WHERE run_key = $1 AND batch = $2`, [runKey, batch]);
  return r.rows[0] ? Number(r.rows[0].members) : undefined;
}

/** Members per page of a snapshot listed through the worker. */
const PAGE = 50_000;

/**
 * The users of the run's other batches, in a temporary table of this session, so each page is
 * one lookup per id against it instead of unnesting every earlier page again. Returns false (no
 * table) when no other batch has members. `seen` makes the table even without them: a listing
 * through the worker adds each stored page to it, which keeps a user listed twice out of the
 * batch's later pages. A user is stored by one batch at most, so the table needs no unique key;
 * its index is built after the rows (for 800 000 users: 0.6 s, against 2.1 s as a primary key).
 */
async function earlierMembers(
  c: Client,
  t: CutoverTables,
  run: number,
  batch: number,
  seen: boolean,
): Promise<boolean> {
  const other = await c.query(`SELECT 1 FROM ${t.members} WHERE run_id = $1 AND batch <> $2 LIMIT 1`, [run, batch]);
  if (other.rows.length === 0 && !seen) return false;
  await c.query(`DROP TABLE IF EXISTS pg_temp.opsflow_cutover_earlier`);
  await c.query(`CREATE TEMP TABLE opsflow_cutover_earlier (u text COLLATE "C" NOT NULL)`);
  await c.query(
    `INSERT INTO pg_temp.opsflow_cutover_earlier (u) SELECT x.u FROM ${t.members} p CROSS JOIN LATERAL unnest(p.user_ids) AS x(u)
     WHERE p.run_id = $1 AND p.batch <> $2`,
    [run, batch],
  );
  await c.query(`CREATE INDEX ON pg_temp.opsflow_cutover_earlier (u)`);
  await c.query(`ANALYZE pg_temp.opsflow_cutover_earlier`);
  return true;
}

/**
 * A correlated lookup with LIMIT rather than NOT EXISTS: as an anti-join the planner hashed the
 * whole table for every page (0.33 s a page against 800 000 users, instead of 0.06 s of lookups).
 */
const notEarlier = (column: string) =>
  `(SELECT 1 FROM pg_temp.opsflow_cutover_earlier e WHERE e.u = (${column} COLLATE "C") LIMIT 1) IS NULL`;

/**
 * Stores a batch's members from the directory's pages, once. A finished snapshot is never taken
 * again (a retry returns its size); an unfinished one (the worker died while listing) is dropped
 * and listed anew: nothing was routed from it yet, since moving starts after the snapshot returns.
 * A user stored for another batch of the run, or already stored for this one, is left out.
 */
export async function takeSnapshot(
  c: Client,
  t: CutoverTables,
  runKey: string,
  batch: number,
  pages: AsyncIterable<string[]>,
  progress: (listed: number, stored: number) => void = () => undefined,
): Promise<{ members: number; listed: number; alreadyTaken: boolean }> {
  const done = await snapshotSize(c, t, runKey, batch);
  if (done !== undefined) return { members: done, listed: done, alreadyTaken: true };
  const run = await runId(c, t, runKey);
  await c.query(`DELETE FROM ${t.members} WHERE run_id = $1 AND batch = $2`, [run, batch]);
  await earlierMembers(c, t, run, batch, true);
  let listed = 0;
  let stored = 0;
  for await (const listing of pages)
    for (let i = 0; i < listing.length; i += PAGE) {
      const ids = listing.slice(i, i + PAGE);
      const r = await c.query(
        `WITH kept AS (SELECT DISTINCT (x.u COLLATE "C") AS u FROM unnest($4::text[]) AS x(u) WHERE ${notEarlier('x.u')}),
         seen AS (INSERT INTO pg_temp.opsflow_cutover_earlier (u) SELECT u FROM kept),
         ins AS (INSERT INTO ${t.members} (run_id, batch, after_seq, n, user_ids)
                 SELECT $1, $2, $3, count(*), array_agg(u) FROM kept HAVING count(*) > 0 RETURNING n)
         SELECT coalesce((SELECT n FROM ins), 0) AS stored`,
        [run, batch, stored, ids],
      );
      listed += ids.length;
      stored += Number(r.rows[0].stored);
      progress(listed, stored);
    }
  await c.query(`INSERT INTO ${t.snapshots} (run_key, batch, members) VALUES ($1, $2, $3)`, [runKey, batch, stored]);
  return { members: stored, listed, alreadyTaken: false };
}

/** Where a server-side snapshot stands: heartbeated after every page, so a new attempt resumes there. */
export interface SnapshotCursor {
  listed: number;
  stored: number;
  /** The last id listed (text); null before the first page. */
  after: string | null;
  /** The cursor counts pages of `cutover_member_pages`: one from before that store cannot be resumed. */
  layout: 'pages';
}

/**
 * The same snapshot as `takeSnapshot`, for a directory table in the store's own database: each
 * directory page becomes one stored page in one `INSERT … SELECT` on the server (keyset-paged, so
 * every page is an index range scan), and the ids never travel to the worker and back. Each page
 * commits on its own; `resume` (the last heartbeated cursor) continues after it, dropping what a
 * page committed after that beat. Ids are deduplicated within a page unless a unique index on the
 * id column makes them distinct already (sorting every page for nothing cost ~20 ms a page).
 */
export async function takeSnapshotInDatabase(
  c: Client,
  t: CutoverTables,
  runKey: string,
  batch: number,
  pages: SqlPages,
  cohort: Cohort,
  resume: SnapshotCursor | undefined,
  progress: (cursor: SnapshotCursor) => void = () => undefined,
): Promise<{ members: number; listed: number; alreadyTaken: boolean }> {
  const done = await snapshotSize(c, t, runKey, batch);
  if (done !== undefined) return { members: done, listed: done, alreadyTaken: true };
  const run = await runId(c, t, runKey);
  const cursor: SnapshotCursor = resume ? { ...resume } : { listed: 0, stored: 0, after: null, layout: 'pages' };
  await c.query(`DELETE FROM ${t.members} WHERE run_id = $1 AND batch = $2 AND after_seq >= $3`, [
    run,
    batch,
    cursor.stored,
  ]);
  const exclude = await earlierMembers(c, t, run, batch, false);
  const unique = pages.idsUnique();
  const distinct = (await c.query(unique.text, unique.values)).rows[0]?.unique === true ? '' : 'DISTINCT ';
  for (;;) {
    const page = pages.page(cohort, cursor.after, 4);
    const r = await c.query(
      `WITH page AS MATERIALIZED (${page.text}),
       kept AS (SELECT ${distinct}(opsflow_user_id COLLATE "C") AS u FROM page${exclude ? ` WHERE ${notEarlier('page.opsflow_user_id')}` : ''}),
       ins AS (INSERT INTO ${t.members} (run_id, batch, after_seq, n, user_ids)
               SELECT $1, $2, $3, count(*), array_agg(u) FROM kept HAVING count(*) > 0 RETURNING n)
       SELECT (SELECT count(*) FROM page) AS listed, coalesce((SELECT n FROM ins), 0) AS stored,
              (SELECT opsflow_user_id FROM page ORDER BY opsflow_key DESC LIMIT 1) AS last`,
      [run, batch, cursor.stored, ...page.values],
    );
    const listed = Number(r.rows[0].listed);
    if (listed === 0) break;
    cursor.listed += listed;
    cursor.stored += Number(r.rows[0].stored);
    cursor.after = r.rows[0].last as string;
    progress(cursor);
    if (listed < pages.pageSize) break;
  }
  await c.query(`INSERT INTO ${t.snapshots} (run_key, batch, members) VALUES ($1, $2, $3)`, [
    runKey,
    batch,
    cursor.stored,
  ]);
  return { members: cursor.stored, listed: cursor.listed, alreadyTaken: false };
}

export interface MemberChunk {
  /** The seq before the chunk's first member: its members are seqs `afterSeq` + 1 … `lastSeq`. */
  afterSeq: number;
  /** The last seq of the chunk: the cursor of the next one. */
  lastSeq: number;
  ids: string[];
  /** Each member's route before the move; `null`: none of its own (or not recorded yet). Empty unless asked for. */
  priors: (string | null)[];
}

/**
 * Up to `limit` members of a batch after `afterSeq`, consecutive seqs only (a chunk never spans
 * a gap between pages); undefined past the end. Only the pages the
 * chunk overlaps are read, sliced on the server.
 */
export async function memberChunk(
  c: Client,
  t: CutoverTables,
  runKey: string,
  batch: number,
  afterSeq: number,
  limit: number,
  withPriors = false,
): Promise<MemberChunk | undefined> {
  const rows = await overlapping(c, t.members, 'user_ids', runKey, batch, afterSeq, afterSeq + limit, t.runs, true);
  let first: number | undefined;
  const ids: string[] = [];
  for (const [after, slice] of rows) {
    if (!slice || slice.length === 0) continue;
    const from = Math.max(after, afterSeq);
    if (first === undefined) first = from;
    else if (from !== first + ids.length) break;
    for (const id of slice as string[]) ids.push(id);
  }
  if (first === undefined) return undefined;
  const chunk: MemberChunk = { afterSeq: first, lastSeq: first + ids.length, ids, priors: [] };
  if (withPriors) chunk.priors = await priorsOf(c, t, runKey, batch, chunk.afterSeq, chunk.lastSeq);
  return chunk;
}

/**
 * Separates the ids of a member slice sent as one string. Parsing a text[] of 10 000 ids in the
 * worker cost ~3 ms of its one thread per chunk, on every pass (priors, move, restore); splitting
 * a string costs a fifth of that. An id holding the separator, or a NULL one, would make the parts
 * differ from the slice's length: that slice comes again as an array.
 */
const SEP = '\x01';

/**
 * The pages of `table` overlapping seqs `from` + 1 … `to`, in order, each as [after_seq, the
 * column sliced to the overlap]. The page holding `from` + 1 starts at the greatest `after_seq`
 * not after `from`: one index lookup, not a scan of the batch's pages. `joined`: the slices come
 * as one string each (ids only: a prior may be NULL).
 */
async function overlapping(
  c: Client,
  table: string,
  column: string,
  runKey: string,
  batch: number,
  from: number,
  to: number,
  runs: string,
  joined = false,
): Promise<[number, unknown[] | null][]> {
  const slice = `p.${column}[greatest($3 - p.after_seq, 0) + 1 : $4 - p.after_seq]`;
  const pages = `FROM ${table} p, run
           WHERE p.run_id = run.id AND p.batch = $2 AND p.after_seq < $4
             AND p.after_seq >= coalesce((SELECT max(q.after_seq) FROM ${table} q WHERE q.run_id = run.id AND q.batch = $2 AND q.after_seq <= $3), 0)`;
  const r = await c.query({
    text: `WITH run AS (SELECT id FROM ${runs} WHERE run_key = $1)
           SELECT p.after_seq, ${joined ? `array_to_string(${slice}, chr(1)), cardinality(${slice})` : slice} AS slice
           ${pages}
           ORDER BY p.after_seq`,
    values: [runKey, batch, from, to],
    rowMode: 'array',
  });
  if (!joined) return r.rows.map((x) => [Number(x[0]), x[1] as unknown[] | null]);
  const out: [number, unknown[] | null][] = [];
  for (const x of r.rows) {
    const n = Number(x[2] ?? 0);
    const parts = n === 0 ? [] : (x[1] as string).split(SEP);
    if (parts.length === n) out.push([Number(x[0]), parts]);
    else {
      const whole = await c.query({
        text: `WITH run AS (SELECT id FROM ${runs} WHERE run_key = $1) SELECT ${slice} ${pages} AND p.after_seq = $5`,
        values: [runKey, batch, from, to, x[0]],
        rowMode: 'array',
      });
      out.push([Number(x[0]), whole.rows[0][0] as unknown[]]);
    }
  }
  return out;
}

/** The recorded priors of seqs `from` + 1 … `to`; null where none (no route of its own). */
async function priorsOf(
  c: Client,
  t: CutoverTables,
  runKey: string,
  batch: number,
  from: number,
  to: number,
): Promise<(string | null)[]> {
  const out: (string | null)[] = new Array(to - from).fill(null);
  for (const [after, slice] of await overlapping(c, t.priors, 'priors', runKey, batch, from, to, t.runs)) {
    if (!slice) continue;
    const start = Math.max(after, from) - from;
    for (let k = 0; k < slice.length && start + k < out.length; k++) out[start + k] = slice[k] as string | null;
  }
  return out;
}

/** Seqs up to which a batch's priors are recorded: they are read in seq order, so the recorded ones are a prefix. */
export async function priorsRecordedThrough(
  c: Client,
  t: CutoverTables,
  runKey: string,
  batch: number,
): Promise<number> {
  const r = await c.query(
    `SELECT coalesce(max(p.after_seq + p.n), 0) AS through FROM ${t.priors} p JOIN ${t.runs} r ON r.id = p.run_id WHERE r.run_key = $1 AND p.batch = $2`,
    [runKey, batch],
  );
  return Number(r.rows[0].through);
}

/**
 * Records the prior routes a chunk's members had, as one page (NULL when none had one). A page
 * already recorded is kept, so a chunk read again cannot overwrite it.
 */
export async function recordPriors(
  c: Client,
  t: CutoverTables,
  runKey: string,
  batch: number,
  chunk: MemberChunk,
  priors: (string | null)[],
): Promise<void> {
  await c.query(
    `INSERT INTO ${t.priors} (run_id, batch, after_seq, n, priors) SELECT id, $2, $3, $4, $5::text[] FROM ${t.runs} WHERE run_key = $1 ON CONFLICT DO NOTHING`,
    [runKey, batch, chunk.afterSeq, chunk.ids.length, priors.some((p) => p !== null) ? priors : null],
  );
}

/** Marks a batch's priors complete (after every chunk was read) / asks whether they are. */
export async function markPriorsRecorded(c: Client, t: CutoverTables, runKey: string, batch: number): Promise<void> {
  await c.query(`UPDATE ${t.snapshots} SET priors_recorded = true WHERE run_key = $1 AND batch = $2`, [runKey, batch]);
}
export async function priorsRecorded(c: Client, t: CutoverTables, runKey: string, batch: number): Promise<boolean> {
  const r = await c.query(`SELECT priors_recorded FROM ${t.snapshots} WHERE run_key = $1 AND batch = $2`, [
    runKey,
    batch,
  ]);
  return r.rows[0]?.priors_recorded === true;
}

/**
 * Up to `n` members of a batch picked at random, with their priors when asked: the read-back
 * sample. The picks are drawn over the pages' seq ranges, then read by subscript, page by page;
 * unnesting every page to keep 1 000 of a million ids cost three times as much.
 */
export async function sampleMembers(
  c: Client,
  t: CutoverTables,
  runKey: string,
  batch: number,
  n: number,
  withPriors = true,
): Promise<{ ids: string[]; priors: (string | null)[] }> {
  const pages = await c.query({
    text: `SELECT p.after_seq, p.n FROM ${t.members} p JOIN ${t.runs} r ON r.id = p.run_id WHERE r.run_key = $1 AND p.batch = $2 ORDER BY p.after_seq`,
    values: [runKey, batch],
    rowMode: 'array',
  });
  const ranges = pages.rows.map((x) => [Number(x[0]), Number(x[1])] as const);
  const total = ranges.reduce((a, [, k]) => a + k, 0);
  const picks = new Set<number>();
  while (picks.size < Math.min(n, total)) picks.add(Math.floor(Math.random() * total));
  const at: number[] = [];
  const ks: number[] = [];
  let i = 0;
  let base = 0;
  for (const pick of [...picks].sort((a, b) => a - b)) {
    while (pick >= base + ranges[i][1]) base += ranges[i++][1];
    at.push(ranges[i][0]);
    ks.push(pick - base + 1);
  }
  const prior = withPriors
    ? `(SELECT CASE WHEN x.a + x.k <= pp.after_seq + pp.n THEN pp.priors[x.a + x.k - pp.after_seq] END FROM ${t.priors} pp
        WHERE pp.run_id = p.run_id AND pp.batch = $2 AND pp.after_seq < x.a + x.k ORDER BY pp.after_seq DESC LIMIT 1)`
    : 'NULL::text';
  const r = await c.query({
    text: `SELECT p.user_ids[x.k], ${prior} FROM unnest($3::bigint[], $4::int[]) AS x(a, k)
           JOIN ${t.members} p ON p.run_id = (SELECT id FROM ${t.runs} WHERE run_key = $1) AND p.batch = $2 AND p.after_seq = x.a`,
    values: [runKey, batch, at, ks],
    rowMode: 'array',
  });
  return { ids: r.rows.map((x) => x[0] as string), priors: r.rows.map((x) => x[1] as string | null) };
}

/** A chunked pass over a batch's members: the last seq done and what was written and read back so far. */
export interface PassCursor {
  afterSeq: number;
  written: number;
  verified: number;
  /** A few users that did not read back, named in the message that stops the batch. */
  missed: string[];
}
export type Pass = 'move' | 'restore';

/** Where a batch's move or restore stands, as last saved; undefined before its first chunk. */
export async function passCursor(
  c: Client,
  t: CutoverTables,
  runKey: string,
  batch: number,
  pass: Pass,
): Promise<PassCursor | undefined> {
  const r = await c.query(
    `SELECT after_seq, written, verified, missed FROM ${t.cursors} WHERE run_key = $1 AND batch = $2 AND pass = $3`,
    [runKey, batch, pass],
  );
  const row = r.rows[0];
  return row
    ? {
        afterSeq: Number(row.after_seq),
        written: Number(row.written),
        verified: Number(row.verified),
        missed: row.missed as string[],
      }
    : undefined;
}

/** Saves where a pass stands, after a chunk the router has answered (a committed upsert: it survives the worker). */
export async function savePassCursor(
  c: Client,
  t: CutoverTables,
  runKey: string,
  batch: number,
  pass: Pass,
  cursor: PassCursor,
): Promise<void> {
  await c.query(
    `INSERT INTO ${t.cursors} (run_key, batch, pass, after_seq, written, verified, missed) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (run_key, batch, pass) DO UPDATE SET after_seq = excluded.after_seq, written = excluded.written, verified = excluded.verified, missed = excluded.missed, saved_at = now()`,
    [runKey, batch, pass, cursor.afterSeq, cursor.written, cursor.verified, cursor.missed],
  );
}

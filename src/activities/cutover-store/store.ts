import type { Client } from 'pg';
import type { OpsflowConfig } from '../../config/schema';
import { quoteSchema, storeRefFrom, withMigratedStore, type StoreRef } from '../postgres/store-migrations';
import { cutoverStore } from './migrations';
import type { Cohort } from '../../domain/cutover/cohort';
import type { SqlPages } from '../directory/directory';

/** Snapshots and prior routes in PostgreSQL (config.cutover.store). */
export type CutoverStore = StoreRef;

export function cutoverStoreRef(config: OpsflowConfig): CutoverStore {
  return storeRefFrom(config, config.cutover.store, 'cutover.store', 'a cutover keeps each batch\'s members and their prior routes in PostgreSQL', 'CutoverStoreNotConfigured');
}

export type CutoverTables = { snapshots: string; members: string; priors: string };

export function withCutoverStore<T>(ref: CutoverStore, fn: (c: Client, t: CutoverTables) => Promise<T>): Promise<T> {
  const q = quoteSchema(ref.schema);
  return withMigratedStore(ref.config, ref.schema, cutoverStore, (c) => fn(c, { snapshots: `${q}.cutover_snapshots`, members: `${q}.cutover_members`, priors: `${q}.cutover_priors` }));
}

/** The member count of a batch's finished snapshot, or undefined when none was finished. */
export async function snapshotSize(c: Client, t: CutoverTables, runKey: string, batch: number): Promise<number | undefined> {
  const r = await c.query(`SELECT members FROM ${t.snapshots} WHERE run_key = $1 AND batch = $2`, [runKey, batch]);
  return r.rows[0] ? Number(r.rows[0].members) : undefined;
}

/**
 * Stores a batch's members from the directory's pages, once. A finished snapshot is never taken
 * again (a retry returns its size); an unfinished one (the worker died while listing) is dropped
 * and listed anew: nothing was routed from it yet, since moving starts after the snapshot returns.
 * A user already stored for an earlier batch of the run is skipped by the unique key.
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
  await c.query(`DELETE FROM ${t.members} WHERE run_key = $1 AND batch = $2`, [runKey, batch]);
  let listed = 0;
  let stored = 0;
  for await (const ids of pages) {
    const r = await c.query(
      `INSERT INTO ${t.members} (run_key, batch, seq, user_id)
       SELECT $1, $2, $3::bigint + ord, u FROM unnest($4::text[]) WITH ORDINALITY AS x(u, ord)
       ON CONFLICT (run_key, user_id) DO NOTHING`,
      [runKey, batch, listed, ids],
    );
    listed += ids.length;
    stored += r.rowCount ?? 0;
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
}

/**
 * The same snapshot as `takeSnapshot`, for a directory table in the store's own database: each
 * page is one `INSERT … SELECT` on the server (keyset-paged, so every page is an index range scan),
 * and the ids never travel to the worker and back. Each page commits on its own; `resume` (the
 * last heartbeated cursor) continues after it, dropping what a page committed after that beat.
 * A user stored for an earlier batch of the run is left out by an anti-join rather than by
 * ON CONFLICT DO NOTHING: the speculative insertion behind ON CONFLICT nearly doubled the insert
 * (6.2 s against 3.2 s for 1 000 000 users). The unique key still stands behind it.
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
  const cursor: SnapshotCursor = resume ? { ...resume } : { listed: 0, stored: 0, after: null };
  await c.query(`DELETE FROM ${t.members} WHERE run_key = $1 AND batch = $2 AND seq > $3`, [runKey, batch, cursor.listed]);
  for (;;) {
    const page = pages.page(cohort, cursor.after, 4);
    const r = await c.query(
      `WITH page AS MATERIALIZED (${page.text}),
       ins AS (INSERT INTO ${t.members} (run_key, batch, seq, user_id)
               SELECT DISTINCT ON (opsflow_user_id) $1, $2, $3::bigint + opsflow_ord, opsflow_user_id FROM page
               WHERE NOT EXISTS (SELECT 1 FROM ${t.members} m WHERE m.run_key = $1 AND m.user_id = page.opsflow_user_id)
               ORDER BY opsflow_user_id, opsflow_ord
               RETURNING 1)
       SELECT (SELECT count(*) FROM page) AS listed, (SELECT count(*) FROM ins) AS stored,
              (SELECT opsflow_user_id FROM page ORDER BY opsflow_ord DESC LIMIT 1) AS last`,
      [runKey, batch, cursor.listed, ...page.values],
    );
    const listed = Number(r.rows[0].listed);
    if (listed === 0) break;
    cursor.listed += listed;
    cursor.stored += Number(r.rows[0].stored);
    cursor.after = r.rows[0].last as string;
    progress(cursor);
    if (listed < pages.pageSize) break;
  }
  await c.query(`INSERT INTO ${t.snapshots} (run_key, batch, members) VALUES ($1, $2, $3)`, [runKey, batch, cursor.stored]);
  return { members: cursor.stored, listed: cursor.listed, alreadyTaken: false };
}

export interface MemberChunk {
  /** The last seq of the chunk: the cursor of the next one. */
  lastSeq: number;
  seqs: number[];
  ids: string[];
  /** Each member's route before the move; `null`: none of its own (or not recorded yet). */
  priors: (string | null)[];
}

/** Up to `limit` members of a batch after `afterSeq`, in seq order; undefined past the end. */
export async function memberChunk(c: Client, t: CutoverTables, runKey: string, batch: number, afterSeq: number, limit: number): Promise<MemberChunk | undefined> {
  const r = await c.query({
    text: `SELECT m.seq, m.user_id, p.prior FROM ${t.members} m
           LEFT JOIN ${t.priors} p ON p.run_key = m.run_key AND p.batch = m.batch AND p.seq = m.seq
           WHERE m.run_key = $1 AND m.batch = $2 AND m.seq > $3 ORDER BY m.seq LIMIT $4`,
    values: [runKey, batch, afterSeq, limit],
    rowMode: 'array',
  });
  if (r.rows.length === 0) return undefined;
  return {
    lastSeq: Number(r.rows[r.rows.length - 1][0]),
    seqs: r.rows.map((x) => Number(x[0])),
    ids: r.rows.map((x) => x[1] as string),
    priors: r.rows.map((x) => x[2] as string | null),
  };
}

/**
 * Records the prior routes a chunk's members had (only those with one: an absent row is "no
 * route"). A prior already recorded is kept, so a chunk read again cannot overwrite it.
 */
export async function recordPriors(c: Client, t: CutoverTables, runKey: string, batch: number, seqs: number[], priors: (string | null)[]): Promise<void> {
  const had = seqs.flatMap((s, i) => (priors[i] === null ? [] : [i]));
  if (had.length === 0) return;
  await c.query(
    `INSERT INTO ${t.priors} (run_key, batch, seq, prior) SELECT $1, $2, s, p FROM unnest($3::bigint[], $4::text[]) AS x(s, p) ON CONFLICT DO NOTHING`,
    [runKey, batch, had.map((i) => seqs[i]), had.map((i) => priors[i])],
  );
}

/** Marks a batch's priors complete (after every chunk was read) / asks whether they are. */
export async function markPriorsRecorded(c: Client, t: CutoverTables, runKey: string, batch: number): Promise<void> {
  await c.query(`UPDATE ${t.snapshots} SET priors_recorded = true WHERE run_key = $1 AND batch = $2`, [runKey, batch]);
}
export async function priorsRecorded(c: Client, t: CutoverTables, runKey: string, batch: number): Promise<boolean> {
  const r = await c.query(`SELECT priors_recorded FROM ${t.snapshots} WHERE run_key = $1 AND batch = $2`, [runKey, batch]);
  return r.rows[0]?.priors_recorded === true;
}

/** Up to `n` members of a batch picked at random, with their priors: the read-back sample. */
export async function sampleMembers(c: Client, t: CutoverTables, runKey: string, batch: number, n: number): Promise<{ ids: string[]; priors: (string | null)[] }> {
  const r = await c.query({
    text: `SELECT m.user_id, p.prior FROM (SELECT * FROM ${t.members} WHERE run_key = $1 AND batch = $2 ORDER BY random() LIMIT $3) m
           LEFT JOIN ${t.priors} p ON p.run_key = m.run_key AND p.batch = m.batch AND p.seq = m.seq`,
    values: [runKey, batch, n],
    rowMode: 'array',
  });
  return { ids: r.rows.map((x) => x[0] as string), priors: r.rows.map((x) => x[1] as string | null) };
}

import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { OpsflowConfig } from '../../config/schema';
import type { Cohort } from '../../domain/cutover/cohort';
import { configTarget } from '../config-target';
import { cutoverPlanActivities } from './plan';
import { openDirectory } from '../systems/directory';
import { openRouter, type Router } from '../systems/router';
import { MISSED_EXAMPLES } from '../systems/router/router';
import { RoutingApiError } from '../systems/router/http';
import type { Client } from 'pg';
import {
  cutoverStoreRef,
  passCursor,
  savePassCursor,
  type Pass,
  type PassCursor,
  markPriorsRecorded,
  memberChunk,
  priorsRecorded,
  priorsRecordedThrough,
  recordPriors,
  sampleMembers,
  takeSnapshot,
  takeSnapshotInDatabase,
  withCutoverStore,
  type SnapshotCursor,
  type CutoverTables,
  type MemberChunk,
} from '../cutover-store/store';

/** A chunk of members, with their current routes being read when the pass asked for them. */
type Chunk = MemberChunk & { routes?: Promise<(string | null)[]> };

/** Which batch of which run: everything a chunked activity needs to find its members in the store. */
export interface BatchRef {
  /** The cutover's first run (`<workflow id>/<run id>`): carried across continue-as-new. */
  runKey: string;
  service: string;
  router: string;
  /** The batch's index in the input. */
  batch: number;
}

export interface SnapshotResult {
  members: number;
  /** Users the directory listed; `listed - members` were moved by an earlier batch. */
  listed: number;
  alreadyTaken: boolean;
}

export interface ChunkedResult {
  /** Users the activity wrote. */
  written: number;
  /** Users that read back as written. */
  verified: number;
  /** Up to 5 users that did not read back as written, for the message that stops the batch. */
  missed?: string[];
}

export interface ReadBackResult {
  sampled: number;
  matching: number;
  /** Up to 5 users that did not read back as expected, for the message. */
  mismatches: string[];
  /** The router cannot be read back: nothing was sampled, the writes' own answers are all there is. */
  unreadable?: true;
}

/** Users per router call: Redis takes a pipelined chunk; an HTTP API's concurrency works through a smaller one. */
function chunkSizeOf(config: OpsflowConfig, router: string): number {
  const r = configTarget(config.routers, 'routers', router);
  return r.type === 'redis' ? r.chunkSize : Math.max(100, r.concurrency * 20);
}

/**
 * Chunks a move or restore has at the router at once. Redis runs one chunk's script while the
 * worker encodes the next and takes the answer of the one before, instead of waiting idle for it
 * (on the bench, the worker's share of a Redis restore was as long as Redis's own). A worker
 * killed then has up to this many chunks written but not saved, which the next attempt writes
 * again: the same values, read back again. The routing API keeps one chunk in flight: its own
 * concurrency already overlaps the calls, and a redo there is one request per user. The priors
 * pass keeps one too: it records each chunk in the store as it goes, and what it recorded must
 * stay a prefix of the batch (a failed chunk with a later one recorded would be skipped).
 */
function routerDepthOf(config: OpsflowConfig, router: string): number {
  return configTarget(config.routers, 'routers', router).type === 'redis' ? 2 : 1;
}

/** A routing API that refuses (4xx) is the config's fault: no retry will help. */
function routerFailure(err: unknown): unknown {
  if (err instanceof RoutingApiError && !err.retryable)
    return ApplicationFailure.create({ message: err.message, type: 'RouterRejected', nonRetryable: true });
  return err;
}

/**
 * The cutover's I/O. Member lists go from the directory to the store and from the store to the
 * router inside the activities, in chunks; workflow history sees counts and cursors only. Chunked
 * activities save their cursor after every chunk (the move and the restore in the store, the
 * priors as the store's own pages) and heartbeat it, and resume from it on the next attempt.
 */
export function cutoverActivities(config: OpsflowConfig) {
  async function overChunks(
    ref: BatchRef,
    fn: (
      router: Router,
      chunk: Chunk,
      store: { c: Client; t: CutoverTables },
    ) => Promise<{ written: number; verified: number; missed?: string[] }>,
    opts: { withPriors?: boolean; withRoutes?: boolean; from?: number; asyncCommit?: boolean; pass?: Pass } = {},
  ): Promise<ChunkedResult> {
    const ctx = Context.current();
    const store = cutoverStoreRef(config);
    const size = chunkSizeOf(config, ref.router);
    // A beat from before users that did not read back were named has no `missed`.
    const resumed = ctx.info.heartbeatDetails as (Omit<PassCursor, 'missed'> & Partial<PassCursor>) | undefined;
    const cursor: PassCursor = { afterSeq: 0, written: 0, verified: 0, ...resumed, missed: resumed?.missed ?? [] };
    // A pass that records as it goes starts where the store says, not where the last beat did (a
    // chunk recorded after the beat is not read again; a beat from before the store was converted
    // to pages does not skip what was left out of it).
    if (opts.from !== undefined && opts.from !== cursor.afterSeq) {
      const base = opts.from > cursor.afterSeq ? cursor : { afterSeq: 0, written: 0, verified: 0, missed: [] };
      Object.assign(cursor, {
        afterSeq: opts.from,
        written: base.written + opts.from - base.afterSeq,
        verified: base.verified + opts.from - base.afterSeq,
      });
    }
    const router = openRouter(config, ref.router, ref.service);
    const beat = setInterval(() => ctx.heartbeat(cursor), 2_000);
    try {
      await withCutoverStore(store, async (c, t) => {
        // A move or restore saves its cursor after every chunk without waiting for the disk (the
        // flush was 3–8 ms a chunk, a third of a million users' move): a killed worker loses
        // nothing committed, since the server still holds it. Only a crash of PostgreSQL itself can
        // lose the last saves, those of at most 3 × wal_writer_delay (0.6 s by default) before it:
        // the next attempt then starts at an older cursor and routes those chunks again. That redo
        // is bounded by time and harmless: writing a user's route again writes the same value
        // (the move's target, the restore's stored prior), each chunk is read back as it is
        // written, and the counts restart from the cursor they belong to, so no user is counted
        // twice. The priors pass commits the same way (see cutoverRecordPriors).
        if (opts.asyncCommit || opts.pass) await c.query('SET synchronous_commit = off');
        // A move or restore resumes from the cursor it saved in the store after its last chunk:
        // the SDK throttles heartbeats, so the last beat the server has may be many chunks old (or
        // none at all), and a killed worker would have every user from there written again.
        const saved = opts.pass ? await passCursor(c, t, ref.runKey, ref.batch, opts.pass) : undefined;
        if (saved && saved.afterSeq > cursor.afterSeq) Object.assign(cursor, saved);
        if (resumed || cursor.afterSeq > 0)
          log.info('cutover chunks resumed', {
            batch: ref.batch,
            afterSeq: cursor.afterSeq,
            attempt: ctx.info.attempt,
          });
        // The next chunk is read from the store while the router works on this one: the two
        // round trips overlap. The cursor still moves only after the router's answer, in order.
        // `withRoutes`: the chunk's current routes are asked for as soon as it is read, so the
        // router reads one chunk while the store records the one before.
        const read = (after: number): Promise<Chunk | undefined> =>
          memberChunk(c, t, ref.runKey, ref.batch, after, size, opts.withPriors).then((chunk) => {
            if (!chunk || !opts.withRoutes) return chunk;
            const routes = router.read(chunk.ids);
            routes.catch(() => undefined); // awaited by fn; a failure before it must not leave it unhandled
            return { ...chunk, routes };
          });
        const pending: {
          chunk: Chunk;
          done: Promise<{ written: number; verified: number; missed?: string[] }>;
        }[] = [];
        const settle = async () => {
          const { chunk, done } = pending.shift()!;
          const d = await done;
          cursor.afterSeq = chunk.lastSeq;
          cursor.written += d.written;
          cursor.verified += d.verified;
          cursor.missed = [...cursor.missed, ...(d.missed ?? [])].slice(0, MISSED_EXAMPLES);
          if (opts.pass) await savePassCursor(c, t, ref.runKey, ref.batch, opts.pass, cursor);
          ctx.heartbeat(cursor);
        };
        const depth = opts.pass ? routerDepthOf(config, ref.router) : 1;
        let next = read(cursor.afterSeq);
        for (;;) {
          const chunk = await next;
          if (!chunk) break;
          next = read(chunk.lastSeq);
          next.catch(() => undefined); // awaited on the next turn; a router failure first must not leave it unhandled
          // A router failure (a user whose calls ran out of retries) fails this chunk only: the
          // next attempt starts at it, after every chunk saved before.
          const done = fn(router, chunk, { c, t }).catch((err) => {
            throw routerFailure(err);
          });
          done.catch(() => undefined); // awaited by settle, after the chunks before it
          pending.push({ chunk, done });
          if (pending.length >= depth) await settle();
        }
        while (pending.length > 0) await settle();
      });
    } finally {
      clearInterval(beat);
      await router.close();
    }
    return {
      written: cursor.written,
      verified: cursor.verified,
      ...(cursor.missed.length ? { missed: cursor.missed } : {}),
    };
  }

  return {
    ...cutoverPlanActivities(config),
    /**
     * Lists a batch's cohort from the directory into the store, once; a batch whose snapshot was
     * taken returns its size without listing again. Heartbeats while listing.
     */
    async cutoverSnapshot(input: {
      runKey: string;
      directory: string;
      batch: number;
      cohort: Cohort;
    }): Promise<SnapshotResult> {
      const ctx = Context.current();
      const store = cutoverStoreRef(config);
      const directory = openDirectory(config, input.directory);
      const progress: SnapshotCursor = { listed: 0, stored: 0, after: null, layout: 'pages' };
      const beat = setInterval(() => ctx.heartbeat(progress), 2_000);
      try {
        // A directory table in the store's own database is copied there by the server, page by page,
        // resumable from the heartbeated cursor; any other directory is listed through the worker.
        if (directory.sql && directory.sql.postgres === store.name) {
          const sql = directory.sql;
          const resume = ctx.info.heartbeatDetails as Partial<SnapshotCursor> | undefined;
          // A cursor from before the paged store (no `layout`) counts other things: listed anew.
          const from =
            resume &&
            resume.layout === 'pages' &&
            typeof resume.after === 'string' &&
            typeof resume.listed === 'number' &&
            typeof resume.stored === 'number'
              ? (resume as SnapshotCursor)
              : undefined;
          if (from)
            log.info('cutover snapshot resumed', {
              batch: input.batch,
              listed: from.listed,
              attempt: ctx.info.attempt,
            });
          return await withCutoverStore(store, (c, t) =>
            takeSnapshotInDatabase(c, t, input.runKey, input.batch, sql, input.cohort, from, (cur) => {
              Object.assign(progress, cur);
              ctx.heartbeat(progress);
            }),
          );
        }
        return await withCutoverStore(store, (c, t) =>
          takeSnapshot(c, t, input.runKey, input.batch, directory.pages(input.cohort), (listed, stored) => {
            progress.listed = listed;
            progress.stored = stored;
            ctx.heartbeat(progress);
          }),
        );
      } finally {
        clearInterval(beat);
        await directory.close();
      }
    },

    /**
     * Reads every member's current route from the router into the store. Done once per batch: a
     * batch whose priors are complete is not read again (the router may say "new" by then), and a
     * new attempt starts after the priors already recorded, whatever its last beat said.
     */
    async cutoverRecordPriors(ref: BatchRef): Promise<ChunkedResult> {
      const store = cutoverStoreRef(config);
      const [done, through] = await withCutoverStore(
        store,
        async (c, t) =>
          [
            await priorsRecorded(c, t, ref.runKey, ref.batch),
            await priorsRecordedThrough(c, t, ref.runKey, ref.batch),
          ] as const,
      );
      if (done) return { written: 0, verified: 0 };
      const result = await overChunks(
        ref,
        async (router, chunk, { c, t }) => {
          const current = await (chunk.routes ?? router.read(chunk.ids));
          await recordPriors(c, t, ref.runKey, ref.batch, chunk, current);
          return { written: chunk.ids.length, verified: current.length };
        },
        // Each chunk's priors commit without waiting for the disk: the mark below is a normal commit,
        // which flushes them all before any user moves; a database crash before it loses only
        // chunks that the next attempt reads again (it starts after what the store holds).
        { from: through, asyncCommit: true, withRoutes: true },
      );
      await withCutoverStore(store, (c, t) => markPriorsRecorded(c, t, ref.runKey, ref.batch));
      return result;
    },

    /** Routes every member to the new system, chunk by chunk, each chunk read back in the same round trip. */
    async cutoverMove(ref: BatchRef): Promise<ChunkedResult> {
      return overChunks(
        ref,
        async (router, { ids }) => ({ written: ids.length, ...(await router.write(ids, router.systems.new)) }),
        { pass: 'move' },
      );
    },

    /** Puts every member's prior route back, chunk by chunk, read back. */
    async cutoverRestore(ref: BatchRef): Promise<ChunkedResult> {
      return overChunks(
        ref,
        async (router, { ids, priors }) => ({ written: ids.length, ...(await router.restore(ids, priors)) }),
        { withPriors: true, pass: 'restore' },
      );
    },

    /**
     * Reads back a random sample of members after a move (`expect: "new"`) or a restore (`"prior"`):
     * what the gateway will see, read anew rather than taken from the write's answer.
     */
    async cutoverSampleRoutes(input: BatchRef & { expect: 'new' | 'prior'; sample: number }): Promise<ReadBackResult> {
      const store = cutoverStoreRef(config);
      const s = await withCutoverStore(store, (c, t) =>
        sampleMembers(c, t, input.runKey, input.batch, input.sample, input.expect === 'prior'),
      );
      const router = openRouter(config, input.router, input.service);
      try {
        // "cannot be read" is said as such: read as nulls it would look like every user failed to move
        if (!router.readable) return { sampled: 0, matching: 0, mismatches: [], unreadable: true };
        const got = await router.read(s.ids);
        const want = (i: number) => (input.expect === 'new' ? router.systems.new : s.priors[i]);
        const bad = s.ids.filter((_, i) => got[i] !== want(i));
        return { sampled: s.ids.length, matching: s.ids.length - bad.length, mismatches: bad.slice(0, 5) };
      } finally {
        await router.close();
      }
    },
  };
}

import type { OpsflowConfig } from '../../config/schema';
import { dataMigrationInput, type MigrationSpec } from '../../domain/migration/input';
import type { Chunk } from '../../domain/migration/plan';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { openTarget } from '../config-target';
import { formatIssues } from '../../domain/validation';
import type { Client, ClientConfig, Pool } from 'pg';
import { copyChunkSameDb, copyChunkStreamed, finishCopy, type ChunkCopy } from './copy';
import { preflight } from './preflight';
import {
  chunkBoundaries,
  closeLog,
  openLog,
  pendingChunks,
  planChunks,
  recountLog,
  type LogStatus,
  type PlanSummary,
} from './progress';
import { asFailure, migrationClientConfig, MigrationPools, sameDatabase, withActivityClient } from './session';
import { copyOutSql, flagChunkSql, insertChunkSql, type MigrationShape } from './sql';
import { verifyChunks, type ChunkVerification } from './verify';

export type { ChunkCopy, ChunkVerification, MigrationShape, PlanSummary, LogStatus };

export interface DryRunPlan {
  rows: number;
  chunks: number;
  firstChunk?: Chunk;
  /** The statements one chunk would run (same database) or its COPY (two databases). */
  statement: string;
}

/**
 * The activities of `dataMigrationWorkflow`, against the databases the config names. Each says
 * what makes it safe to retry; errors no retry can fix are non-retryable and name the field.
 */
export function migrationActivities(config: OpsflowConfig) {
  // Activities re-parse the input: defaults applied, and nothing unvalidated reaches SQL.
  const specOf = (raw: unknown): MigrationSpec => {
    const r = dataMigrationInput.safeParse(raw);
    if (!r.success)
      throw ApplicationFailure.nonRetryable(`invalid migration input:\n${formatIssues(r.error)}`, 'InvalidInput');
    return r.data;
  };
  const pools = new MigrationPools();
  type Db = { pool: Pool; cfg: ClientConfig };
  const db = (name: string, field: string): Db => {
    const cfg = migrationClientConfig(config, name, field);
    return { pool: pools.get(name, cfg), cfg };
  };
  const source = (spec: MigrationSpec) => db(spec.source.database, 'source.database');
  const target = (spec: MigrationSpec) => db(spec.target.database, 'target.database');
  const use = <T>(d: Db, fn: (c: Client) => Promise<T>) => withActivityClient(d.pool, d.cfg, fn);
  const both = async <T>(
    spec: MigrationSpec,
    where: string,
    fn: (src: Client, tgt: Client) => Promise<T>,
  ): Promise<T> => {
    try {
      const s = source(spec);
      const t = target(spec);
      return await use(s, (src) => use(t, (tgt) => fn(src, tgt)));
    } catch (err) {
      throw asFailure(err, where);
    }
  };

  return {
    /**
     * The databases the input names: in the config, and answering (a database that does not
     * exist or refuses the credentials is non-retryable). Read-only; the workflow runs it before
     * anything else, so a wrong name fails the run naming the field.
     */
    async resolveMigrationDatabases(raw: unknown): Promise<void> {
      const spec = specOf(raw);
      for (const [field, name] of [
        ['source.database', spec.source.database],
        ['target.database', spec.target.database],
      ] as const) {
        const d = db(name, field);
        try {
          // Connecting is most of the check; a SELECT that fails after it is named the same way.
          await openTarget({ section: 'postgres', name, field }, () => use(d, (c) => c.query('SELECT 1')));
        } catch (err) {
          throw asFailure(err);
        }
      }
    },

    /** Opens this run's migration_log row; read back by run key on retry. */
    async openMigrationLog(raw: unknown, runKey: string): Promise<number> {
      const spec = specOf(raw);
      try {
        return await use(target(spec), (c) => openLog(c, spec, runKey));
      } catch (err) {
        throw asFailure(err, `migration_log in ${spec.target.database}.${spec.stateSchema}`);
      }
    },

    /** Checks tables, columns, key uniqueness and every expression; read-only. */
    async preflightMigration(raw: unknown): Promise<MigrationShape> {
      const spec = specOf(raw);
      const same = sameDatabase(config, spec.source.database, spec.target.database);
      return both(spec, 'preflight', (src, tgt) => preflight(spec, src, tgt, same));
    },

    /** Plans chunks into the progress table, or resumes an unfinished plan; read back on retry. */
    async planMigration(raw: unknown, shape: MigrationShape, runKey: string): Promise<PlanSummary> {
      const spec = specOf(raw);
      return both(spec, 'plan', (src, tgt) => planChunks(src, tgt, spec, shape, runKey));
    },

    /** What a copy would do, changing nothing. */
    async dryRunMigration(raw: unknown, shape: MigrationShape): Promise<DryRunPlan> {
      const spec = specOf(raw);
      return both(spec, 'dry-run', async (src) => {
        const { chunks, rows } = await chunkBoundaries(src, spec, shape, 'copy');
        const first = chunks[0];
        const range = first ?? { lo: null, hi: null };
        const statement = shape.sameDatabase
          ? [
              insertChunkSql(spec, shape, range, true).text,
              spec.flag ? flagChunkSql(spec, shape, range).text : undefined,
            ]
              .filter(Boolean)
              .join(';\n')
          : copyOutSql(spec, shape, range);
        return { rows, chunks: chunks.length, firstChunk: first, statement };
      });
    },

    /**
     * Chunks still to do, after a cursor, and the activity's clock (for rows/s). Also brings the
     * log's `rows_migrated` up to date from the progress table (a recount, so repeatable).
     */
    async nextMigrationChunks(
      raw: unknown,
      phase: 'copy' | 'verify',
      afterNo: number,
      limit: number,
      log?: { id: number; runKey: string },
    ): Promise<{ chunks: Chunk[]; nowMs: number }> {
      const spec = specOf(raw);
      try {
        return await use(target(spec), async (c) => {
          if (log) await recountLog(c, spec, log.id, log.runKey);
          return { chunks: await pendingChunks(c, spec, phase, afterNo, limit), nowMs: Date.now() };
        });
      } catch (err) {
        throw asFailure(err, 'progress table');
      }
    },

    /**
     * Copies the given chunks one after another, each in its own transaction. A chunk's progress
     * row, locked and read back first, makes a retried chunk a no-op, so a retry of the whole list
     * redoes only what did not commit. A failure names its chunk; a cancellation stops between
     * chunks or rolls the current one back.
     */
    async copyMigrationChunks(
      raw: unknown,
      shape: MigrationShape,
      chunks: Chunk[],
      runKey: string,
    ): Promise<ChunkCopy[]> {
      const spec = specOf(raw);
      const out: ChunkCopy[] = [];
      // Before the chunks are reported done, their async commits are made durable (see copy.ts).
      const finish = (copied: Chunk[]) =>
        both(spec, 'WAL flush', (src, tgt) => finishCopy(src, tgt, spec, shape, copied));
      try {
        for (const chunk of chunks) {
          Context.current().cancellationSignal.throwIfAborted();
          const where = `chunk ${chunk.no} (keys ${chunk.lo ?? '-∞'} < key <= ${chunk.hi ?? '∞'})`;
          if (shape.sameDatabase) {
            try {
              out.push(await use(target(spec), (c) => copyChunkSameDb(c, spec, shape, chunk, runKey)));
            } catch (err) {
              throw asFailure(err, where);
            }
          } else {
            out.push(await both(spec, where, (src, tgt) => copyChunkStreamed(src, tgt, spec, shape, chunk, runKey)));
          }
          Context.current().heartbeat({ done: out.length });
        }
      } catch (err) {
        // The chunks before the failure stay committed, and read so (best effort: a retry finishes them too).
        if (out.length) await finish(chunks.slice(0, out.length)).catch(() => undefined);
        throw err;
      }
      await finish(chunks);
      return out;
    },

    /**
     * Verifies the given chunks (read-only on the data; each result overwrites its chunk's verify
     * columns, a group of chunks at a time). A retry reads back the chunks an earlier attempt found
     * matching and verifies the rest; a cancellation rolls back the statement in flight.
     */
    async verifyMigrationChunks(raw: unknown, shape: MigrationShape, chunks: Chunk[]): Promise<ChunkVerification[]> {
      const spec = specOf(raw);
      const where = `verify chunks ${chunks[0]?.no ?? ''}–${chunks[chunks.length - 1]?.no ?? ''}`;
      const ctx = Context.current();
      return both(spec, where, (src, tgt) =>
        verifyChunks(src, tgt, spec, shape, chunks, {
          retried: ctx.info.attempt > 1,
          onProgress: (done) => {
            ctx.heartbeat({ done });
            ctx.cancellationSignal.throwIfAborted();
          },
        }),
      );
    },

    /** Sets the final status and row count of a RUNNING log row by id; repeats are no-ops. */
    async closeMigrationLog(
      raw: unknown,
      logId: number,
      runKey: string,
      status: LogStatus,
      error?: string,
    ): Promise<number> {
      const spec = specOf(raw);
      try {
        return await use(target(spec), (c) => closeLog(c, spec, logId, runKey, status, error));
      } catch (err) {
        throw asFailure(err, 'migration_log');
      }
    },
  };
}

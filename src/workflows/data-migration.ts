import * as wf from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ChunkCopy, ChunkVerification, DryRunPlan, MigrationShape } from '../activities/postgres/migration';
import { dataMigrationInput, type DataMigrationInput, type MigrationSpec } from '../domain/migration-input';
import {
  addMismatches,
  describeMismatches,
  emptyMismatches,
  mismatchCount,
  progressFigures,
  shouldContinueAsNew,
  chunksPerActivity,
  type Chunk,
  type MismatchReport,
} from '../domain/migration-plan';
import { OpsflowMigration, OpsflowPhase } from '../domain/search-attributes';
import { parseInput } from './input';

/** Bookkeeping reads and writes: short, retried with backoff. */
const stepOptions: wf.ActivityOptions = {
  startToCloseTimeout: '10m',
  heartbeatTimeout: '30s',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' },
};
/**
 * One chunk: it heartbeats, so a dead worker's chunk is retried elsewhere within 15 s; a
 * cancellation waits until the chunk has rolled back or committed, so the log is written last.
 */
const chunkOptions: wf.ActivityOptions = {
  startToCloseTimeout: '2h',
  heartbeatTimeout: '15s',
  cancellationType: wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 20, initialInterval: '1s', maximumInterval: '30s' },
};
const acts = wf.proxyActivities<Activities>(stepOptions);

export type MigrationPhase = 'preflight' | 'planning' | 'copying' | 'verifying' | 'completed' | 'failed' | 'cancelled';

export interface MigrationStatus {
  name: string;
  mode: MigrationSpec['mode'];
  phase: MigrationPhase;
  paused: boolean;
  /** Continue-as-new generation of this run (0 for the first history). */
  generation: number;
  logId?: number;
  chunks: { total: number; copied: number; verified: number };
  rows: { planned: number; copied: number; copiedBeforeResume: number; verifiedSource: number; verifiedTarget: number };
  /** Same database: source rows without a target row, by the runbook's anti-join (run on differing chunks). */
  missingByAntiJoin: number;
  rowsPerSecond: number;
  etaSeconds: number | null;
  /** Differing keys found so far (counts of all, the first `reportKeys` of each kind). */
  mismatches: MismatchReport;
  /** Chunks whose checksums differed, whether or not keys could be named. */
  mismatchedChunks: number[];
  resumed: boolean;
  error?: string;
}

/** What a run carries into its continued-as-new successor: small, whatever the table's size. */
export interface MigrationCarry {
  status: MigrationStatus;
  shape: MigrationShape;
  logId: number;
  runKey: string;
  cursor: number;
  phaseStartedAtMs?: number;
  lastAtMs?: number;
}

export interface MigrationResult {
  name: string;
  mode: MigrationSpec['mode'];
  logId?: number;
  rowsCopied: number;
  chunks: number;
  resumed: boolean;
  verification?: { pass: boolean; sourceRows: number; targetRows: number; chunksVerified: number; missingByAntiJoin: number; mismatches: MismatchReport };
  dryRun?: DryRunPlan;
}

export const statusQuery = wf.defineQuery<MigrationStatus>('status');
export const pauseSignal = wf.defineSignal('pause');
export const resumeSignal = wf.defineSignal('resume');

/** The innermost failure's message: an activity failure wraps the one that says what happened. */
function failureMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e && e.cause) e = e.cause as typeof e;
  return e?.message ?? String(err);
}

/** "chunk 13/100 (120000 < key ≤ 130000)" or "chunks 13–16/100 (120000 < key ≤ 160000)". */
function chunkLabel(chunks: Chunk[], total: number): string {
  const first = chunks[0];
  const last = chunks[chunks.length - 1];
  const nos = chunks.length === 1 ? `chunk ${first.no + 1}` : `chunks ${first.no + 1}–${last.no + 1}`;
  return `${nos}/${total} (${first.lo ?? '−∞'} < key ≤ ${last.hi ?? '∞'})`;
}

/**
 * SPEC §2 as a durable workflow: copy rows from a source table into a target table with a column
 * mapping, in keyset chunks recorded in a progress table, flagging each copied source row in the
 * same transaction, then verify counts and checksums per chunk and bisect differences to keys.
 * `migration_log` gets one row per run: RUNNING, then COMPLETED, FAILED (with the error) or CANCELLED.
 */
export async function dataMigrationWorkflow(rawInput: DataMigrationInput, carried?: MigrationCarry): Promise<MigrationResult> {
  const input = parseInput(dataMigrationInput, rawInput, 'dataMigrationWorkflow');
  const info = wf.workflowInfo();
  const status: MigrationStatus = carried?.status ?? {
    name: input.name,
    mode: input.mode,
    phase: 'preflight',
    paused: false,
    generation: 0,
    chunks: { total: 0, copied: 0, verified: 0 },
    rows: { planned: 0, copied: 0, copiedBeforeResume: 0, verifiedSource: 0, verifiedTarget: 0 },
    rowsPerSecond: 0,
    etaSeconds: null,
    mismatches: emptyMismatches(),
    mismatchedChunks: [],
    missingByAntiJoin: 0,
    resumed: false,
  };
  const st: Partial<MigrationCarry> = carried
    ? { ...carried, status: { ...status, generation: status.generation + 1 } }
    : { status, runKey: `${info.workflowId}/${info.firstExecutionRunId}`, cursor: -1 };
  const s = st.status!;

  wf.setHandler(statusQuery, () => {
    const copying = s.phase === 'copying';
    const figures = progressFigures({
      rows: copying ? s.rows.copied : s.rows.verifiedSource,
      startedAtMs: st.phaseStartedAtMs,
      lastAtMs: st.lastAtMs,
      rowsTotal: s.rows.planned,
      rowsDone: copying ? s.rows.copied + s.rows.copiedBeforeResume : s.rows.verifiedSource,
    });
    return { ...s, ...(s.phase === 'copying' || s.phase === 'verifying' ? figures : {}) };
  });
  wf.setHandler(pauseSignal, () => {
    s.paused = true;
    details();
  });
  wf.setHandler(resumeSignal, () => {
    s.paused = false;
    details();
  });

  function details() {
    const c = s.chunks;
    wf.setCurrentDetails(
      `**${s.name}** — ${s.phase}${s.paused ? ' (paused)' : ''}\n\n` +
        `chunks copied ${c.copied}/${c.total}, verified ${c.verified}/${c.total}; rows copied ${s.rows.copied}` +
        (mismatchCount(s.mismatches) ? `; **${mismatchCount(s.mismatches)} mismatched keys**` : ''),
    );
  }
  function setPhase(phase: MigrationPhase) {
    s.phase = phase;
    wf.upsertSearchAttributes([
      { key: OpsflowMigration, value: input.name },
      { key: OpsflowPhase, value: phase },
    ]);
    details();
  }

  if (!carried) setPhase('preflight');
  else details();

  if (input.mode === 'dry-run') {
    // Nothing is written, not even the log: a dry run only reads catalogs and counts rows.
    const shape = await acts.preflightMigration.executeWithOptions({ ...stepOptions, summary: 'check tables, columns, key, mapping' }, [input]);
    const dryRun = await acts.dryRunMigration.executeWithOptions({ ...stepOptions, summary: 'count rows and chunks' }, [input, shape]);
    setPhase('completed');
    return { name: input.name, mode: input.mode, rowsCopied: 0, chunks: dryRun.chunks, resumed: false, dryRun };
  }

  if (!st.logId) {
    // Not cancellable: a log row that was opened is always closed (CANCELLED at worst), never left RUNNING.
    st.logId = await wf.CancellationScope.nonCancellable(() =>
      acts.openMigrationLog.executeWithOptions({ ...stepOptions, summary: 'migration_log: RUNNING' }, [input, st.runKey!]),
    );
    s.logId = st.logId;
  }
  const logId = st.logId;

  try {
    if (!carried) {
      st.shape = await acts.preflightMigration.executeWithOptions({ ...stepOptions, summary: 'check tables, columns, key, mapping' }, [input]);
      setPhase('planning');
      const plan = await acts.planMigration.executeWithOptions(
        { ...stepOptions, startToCloseTimeout: '1h', summary: `plan chunks of ${input.chunkSize} rows` },
        [input, st.shape, st.runKey!],
      );
      s.chunks.total = plan.chunks;
      s.chunks.copied = plan.chunksDone;
      s.rows.planned = plan.rowsPlanned;
      s.rows.copiedBeforeResume = plan.rowsDoneBefore;
      s.resumed = plan.resumed;
      st.cursor = -1;
      setPhase(input.mode === 'verify' ? 'verifying' : 'copying');
    }
    const shape = st.shape!;
    let chunksThisRun = 0;

    /**
     * Lanes (as many as `parallelism`) take chunks from a queue that is refilled from the progress
     * table as it runs low, so no lane waits for a slow neighbour. After `chunksPerRun` chunks the
     * lanes drain and the run continues as new with the cursor, keeping each history small.
     */
    const runPhase = async (phase: 'copy' | 'verify', work: (chunks: Chunk[]) => Promise<void>) => {
      const queue: Chunk[] = [];
      let fetched = 0;
      let stop: 'done' | 'continue' | 'failed' | undefined;
      let fetching: Promise<void> | undefined;
      const refill = async () => {
        if (shouldContinueAsNew(chunksThisRun + fetched, input.chunksPerRun, wf.workflowInfo().continueAsNewSuggested)) {
          stop = 'continue';
          return;
        }
        const limit = Math.min(input.parallelism * 4, input.chunksPerRun - chunksThisRun - fetched);
        const next = await acts.nextMigrationChunks.executeWithOptions({ ...stepOptions, summary: `next ${phase} chunks` }, [
          input,
          phase,
          st.cursor!,
          limit,
          { id: logId, runKey: st.runKey! },
        ]);
        st.phaseStartedAtMs ??= next.nowMs;
        if (next.chunks.length === 0) stop = 'done';
        queue.push(...next.chunks);
        fetched += next.chunks.length;
        if (next.chunks.length) st.cursor = next.chunks[next.chunks.length - 1].no;
      };
      const take = async (): Promise<Chunk[]> => {
        while (queue.length === 0 && !stop) {
          fetching ??= refill().finally(() => (fetching = undefined));
          await fetching;
        }
        const done = phase === 'copy' ? s.chunks.copied : s.chunks.verified;
        return queue.splice(0, chunksPerActivity(s.chunks.total - done, input.parallelism));
      };
      const lanes = Array.from({ length: input.parallelism }, async () => {
        for (;;) {
          await wf.condition(() => !s.paused);
          const chunks = await take();
          if (chunks.length === 0) return;
          try {
            await work(chunks);
          } catch (err) {
            // The other lanes finish the chunks they hold and take no more.
            stop = 'failed';
            queue.length = 0;
            throw err;
          }
          details();
        }
      });
      const settled = await Promise.allSettled(lanes);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      chunksThisRun += fetched;
      if (stop === 'continue') await wf.continueAsNew<typeof dataMigrationWorkflow>(input, st as MigrationCarry);
    };

    if (s.phase === 'copying') {
      await runPhase('copy', async (chunks) => {
        const done: ChunkCopy[] = await acts.copyMigrationChunks.executeWithOptions(
          { ...chunkOptions, summary: `copy ${chunkLabel(chunks, s.chunks.total)}` },
          [input, shape, chunks, st.runKey!],
        );
        for (const r of done) {
          if (r.countedByThisRun) s.rows.copied += r.rows;
          s.chunks.copied++;
          st.lastAtMs = Math.max(st.lastAtMs ?? 0, r.finishedAtMs);
        }
      });
      if (input.verify) {
        st.cursor = -1;
        st.phaseStartedAtMs = undefined;
        setPhase('verifying');
      }
    }

    if (s.phase === 'verifying') {
      await runPhase('verify', async (chunks) => {
        const results: ChunkVerification[] = await acts.verifyMigrationChunks.executeWithOptions(
          { ...chunkOptions, summary: `verify ${chunkLabel(chunks, s.chunks.total)}` },
          [input, shape, chunks],
        );
        for (const v of results) countVerification(v);
      });
    }

    function countVerification(v: ChunkVerification) {
      s.chunks.verified++;
      s.rows.verifiedSource += v.sourceRows;
      s.rows.verifiedTarget += v.targetRows;
      s.missingByAntiJoin += v.antiJoinMissing ?? 0;
      if (!v.match) {
        s.mismatchedChunks = [...s.mismatchedChunks, v.chunkNo].sort((a, b) => a - b).slice(0, 1000);
        s.mismatches = addMismatches(s.mismatches, v.chunkNo, v.mismatches, input.reportKeys);
      }
      st.lastAtMs = Math.max(st.lastAtMs ?? 0, v.finishedAtMs);
    }

    const verified = input.mode === 'verify' || input.verify;
    const verification = verified
      ? {
          pass: s.mismatchedChunks.length === 0,
          sourceRows: s.rows.verifiedSource,
          targetRows: s.rows.verifiedTarget,
          chunksVerified: s.chunks.verified,
          missingByAntiJoin: s.missingByAntiJoin,
          mismatches: s.mismatches,
        }
      : undefined;
    if (verification && !verification.pass) {
      const message =
        mismatchCount(s.mismatches) > 0
          ? describeMismatches(s.mismatches)
          : `verification failed: checksums differ in chunks ${s.mismatchedChunks.join(', ')} but no key could be named`;
      throw wf.ApplicationFailure.nonRetryable(message, 'VerificationFailed', verification);
    }
    await acts.closeMigrationLog.executeWithOptions({ ...stepOptions, summary: 'migration_log: COMPLETED' }, [input, logId, st.runKey!, 'COMPLETED']);
    setPhase('completed');
    return { name: input.name, mode: input.mode, logId, rowsCopied: s.rows.copied, chunks: s.chunks.total, resumed: s.resumed, verification };
  } catch (err) {
    if (err instanceof wf.ContinueAsNew) throw err;
    // Closing the log must not hide why the run ended: if it fails too, the original error stands.
    const close = (status: 'CANCELLED' | 'FAILED', message: string) =>
      wf.CancellationScope.nonCancellable(() =>
        acts.closeMigrationLog.executeWithOptions({ ...stepOptions, summary: `migration_log: ${status}` }, [input, logId, st.runKey!, status, message]),
      ).catch(() => undefined);
    if (wf.isCancellation(err)) {
      await close('CANCELLED', 'cancelled by an operator');
      setPhase('cancelled');
      throw err;
    }
    s.error = failureMessage(err);
    await close('FAILED', s.error);
    setPhase('failed');
    if (err instanceof wf.ApplicationFailure && err.nonRetryable) throw err;
    // An activity that ran out of retries (or failed for good): fail the run, naming the cause.
    throw wf.ApplicationFailure.nonRetryable(s.error, 'MigrationFailed');
  }
}

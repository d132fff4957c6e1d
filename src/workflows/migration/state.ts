// Why: the migration's status record and what it carries into a continued-as-new run, changed
// only through these pure transitions, so that unit tests drive them without Temporal.
import type { ChunkCopy, ChunkVerification, MigrationShape, PlanSummary } from '../../activities/migration';
import type { MigrationSpec } from '../../domain/migration/input';
import { OperatorControls } from '../common/operator-controls';
import { pausedText } from '../../domain/operator-commands';
import { appendBounded } from '../common/decision-log';
import {
  addMismatches,
  emptyMismatches,
  mismatchCount,
  progressFigures,
  type Chunk,
} from '../../domain/migration/plan';
import type { MigrationCarry, MigrationPhase, MigrationResult, MigrationStatus, MigrationVerification } from './status';

const endPhases: readonly MigrationPhase[] = ['completed', 'failed', 'cancelled'];
/** The status lists at most this many differing chunks, whatever the table's size. */
const MAX_LISTED_CHUNKS = 1000;
const MAX_DECISIONS = 20;

/**
 * One migration run's state. `status` is what the `status` query shows (plus rate and ETA, and
 * `paused` from the operator controls); the rest (shape, log id, run key, cursor, the activities'
 * clock readings) is carried with it.
 */
export class MigrationState {
  /** Pause and resume (the common operator signals); the status's `paused` is theirs. */
  readonly controls: OperatorControls;

  private constructor(
    private readonly status: MigrationStatus,
    private readonly run: Partial<Omit<MigrationCarry, 'status'>> & { runKey: string; cursor: number },
  ) {
    this.controls = new OperatorControls({
      paused: status.paused,
      ...(run.pausedBy ? { pausedBy: run.pausedBy } : {}),
    });
  }

  /** A first run: `runKey` names it in the progress table and the log for the whole chain. */
  static start(spec: Pick<MigrationSpec, 'name' | 'mode'>, runKey: string): MigrationState {
    return new MigrationState(
      {
        name: spec.name,
        mode: spec.mode,
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
      },
      { runKey, cursor: -1 },
    );
  }

  /** A continued-as-new run picks up where its predecessor stopped, one generation later. */
  static restore(carried: MigrationCarry): MigrationState {
    const { status, ...run } = carried;
    return new MigrationState(
      { ...status, chunks: { ...status.chunks }, rows: { ...status.rows }, generation: status.generation + 1 },
      { ...run },
    );
  }

  /** Notes a decision in the status (bounded). */
  decide(text: string): void {
    appendBounded((this.status.decisions ??= []), text, MAX_DECISIONS);
  }

  carry(): MigrationCarry {
    const { shape, logId } = this.run;
    if (shape === undefined || logId === undefined)
      throw new Error('a migration continues as new only after its log is open and its tables checked');
    const { pausedBy } = this.controls.carry();
    // Set either way: a pause carried in and since resumed is not carried on.
    return { ...this.run, status: this.current(), shape, logId, pausedBy };
  }

  get runKey(): string {
    return this.run.runKey;
  }
  get logId(): number | undefined {
    return this.run.logId;
  }
  get shape(): MigrationShape | undefined {
    return this.run.shape;
  }
  /** The number of the last chunk handed to a lane in this phase (-1: none yet). */
  get cursor(): number {
    return this.run.cursor;
  }
  get chunksTotal(): number {
    return this.status.chunks.total;
  }
  get phase(): MigrationPhase {
    return this.status.phase;
  }
  get ended(): boolean {
    return endPhases.includes(this.status.phase);
  }

  enter(phase: MigrationPhase): void {
    this.status.phase = phase;
  }

  logOpened(logId: number): void {
    this.run.logId = logId;
    this.status.logId = logId;
  }

  checked(shape: MigrationShape): void {
    this.run.shape = shape;
  }

  /** The plan's figures (a resumed plan counts what earlier runs copied); lanes start from the first chunk. */
  planned(plan: PlanSummary): void {
    this.status.chunks.total = plan.chunks;
    this.status.chunks.copied = plan.chunksDone;
    this.status.rows.planned = plan.rowsPlanned;
    this.status.rows.copiedBeforeResume = plan.rowsDoneBefore;
    this.status.resumed = plan.resumed;
    this.run.cursor = -1;
  }

  /** Chunks fetched for the lanes: the cursor moves past them; the phase's clock starts at the first fetch. */
  fetched(chunks: Chunk[], nowMs: number): void {
    this.run.phaseStartedAtMs ??= nowMs;
    if (chunks.length) this.run.cursor = chunks[chunks.length - 1].no;
  }

  /** Verification walks the chunks again from the first, with its own clock. */
  restartLanes(): void {
    this.run.cursor = -1;
    this.run.phaseStartedAtMs = undefined;
  }

  copied(results: ChunkCopy[]): void {
    for (const r of results) {
      if (r.countedByThisRun) this.status.rows.copied += r.rows;
      this.status.chunks.copied++;
      this.clock(r.finishedAtMs);
    }
  }

  verified(results: ChunkVerification[], reportKeys: number): void {
    const s = this.status;
    for (const v of results) {
      s.chunks.verified++;
      s.rows.verifiedSource += v.sourceRows;
      s.rows.verifiedTarget += v.targetRows;
      s.missingByAntiJoin += v.antiJoinMissing ?? 0;
      if (!v.match) {
        s.mismatchedChunks = [...s.mismatchedChunks, v.chunkNo].sort((a, b) => a - b).slice(0, MAX_LISTED_CHUNKS);
        s.mismatches = addMismatches(s.mismatches, v.chunkNo, v.mismatches, reportKeys);
      }
      this.clock(v.finishedAtMs);
    }
  }

  /** How many chunks of the current phase are still to do (for sizing each lane's next take). */
  remaining(phase: 'copy' | 'verify'): number {
    const c = this.status.chunks;
    return c.total - (phase === 'copy' ? c.copied : c.verified);
  }

  /** The copy failed for this reason (the log is closed FAILED with it). */
  failed(message: string): void {
    this.status.error = message;
  }

  /**
   * The run ended outside the copy's own handling (the log could not be opened, a dry run's checks
   * failed): it becomes failed or cancelled, saying in which phase. False when it had already ended.
   */
  endedBy(kind: 'failed' | 'cancelled', message: string): boolean {
    if (this.ended) return false;
    const was = this.status.phase;
    this.status.phase = kind;
    this.status.error = `${was}: ${message}`;
    return true;
  }

  /** What the `status` query answers: rate and ETA while chunks move, from the activities' clocks. */
  view(): MigrationStatus {
    const s = this.current();
    if (s.phase !== 'copying' && s.phase !== 'verifying') return s;
    const copying = s.phase === 'copying';
    const figures = progressFigures({
      rows: copying ? s.rows.copied : s.rows.verifiedSource,
      startedAtMs: this.run.phaseStartedAtMs,
      lastAtMs: this.run.lastAtMs,
      rowsTotal: s.rows.planned,
      rowsDone: copying ? s.rows.copied + s.rows.copiedBeforeResume : s.rows.verifiedSource,
    });
    return { ...s, ...figures };
  }

  /** Paused, and the run has not ended whatever the pause. */
  get pauseHolds(): boolean {
    return this.controls.paused && !this.ended;
  }

  /** The run's page in the Web UI (current details), in markdown; with its id, the command that resumes it. */
  details(workflowId?: string): string {
    const s = this.current();
    const c = s.chunks;
    const mismatched = mismatchCount(s.mismatches);
    const resume = workflowId !== undefined && this.pauseHolds ? `**${pausedText(workflowId, s.pausedBy)}**\n\n` : '';
    return (
      `**${s.name}** — ${s.phase}${s.paused ? ' (paused)' : ''}\n\n` +
      resume +
      `chunks copied ${c.copied}/${c.total}, verified ${c.verified}/${c.total}; rows copied ${s.rows.copied}` +
      (mismatched ? `; **${mismatched} mismatched keys**` : '') +
      (s.error && (s.phase === 'failed' || s.phase === 'cancelled') ? `\n\n**${s.error}**` : '')
    );
  }

  result(verification: MigrationVerification | undefined): MigrationResult {
    const s = this.status;
    return {
      name: s.name,
      mode: s.mode,
      logId: this.run.logId,
      rowsCopied: s.rows.copied,
      chunks: s.chunks.total,
      resumed: s.resumed,
      verification,
    };
  }

  /** The status record as it stands, `paused` (and while paused `pausedBy`) included. */
  private current(): MigrationStatus {
    const status = { ...this.status };
    this.controls.showPause(status);
    return status;
  }

  private clock(finishedAtMs: number): void {
    this.run.lastAtMs = Math.max(this.run.lastAtMs ?? 0, finishedAtMs);
  }
}

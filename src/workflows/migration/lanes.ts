// Why: copy and verification walk the chunks the same way (parallel lanes fed from the progress
// table, a bounded history); the walking lives here once, the work per batch in its own step.
import * as wf from '@temporalio/workflow';
import type { MigrationSpec } from '../../domain/migration/input';
import {
  chunksPerActivity,
  copyChunksPerActivity,
  COPY_SEGMENT_CHUNKS,
  shouldContinueAsNew,
  verifyChunksPerActivity,
  VERIFY_SEGMENT_CHUNKS,
  type Chunk,
} from '../../domain/migration/plan';
import { historyIsLong } from '../common/continue-as-new';
import { acts, step } from './activities';
import type { PhaseTracker } from './phase';
import type { MigrationState } from './state';

/**
 * Patch id: a pause that came while a lane waited for its next chunks holds those chunks until
 * resume (before, the lane copied them after the pause). Histories recorded before still replay.
 */
const PAUSE_HOLDS_FETCHED_CHUNKS = 'opsflow-migration-pause-holds-fetched-chunks';

/**
 * Patch id: verification lanes take segments of up to VERIFY_SEGMENT_CHUNKS chunks per activity
 * (an even share of what remains), fetched in one refill, instead of up to four chunks, and a
 * refill that comes back short is the last. Histories recorded before replay with the old sizes.
 */
const VERIFY_SEGMENTS = 'opsflow-migration-verify-segments';

/**
 * Patch id: copy lanes take an even share of the chunks left, up to COPY_SEGMENT_CHUNKS per
 * activity, fetched that many per lane at a refill, instead of up to four and one at a time near
 * the end, and a refill that comes back short is the last (as VERIFY_SEGMENTS does for the
 * verification). Histories recorded before replay with the old sizes.
 */
const COPY_SEGMENTS = 'opsflow-migration-copy-segments';

export type LanePhase = 'copy' | 'verify';
/** What a lane does with one batch of chunks (one activity); its results go into the state. */
export type LaneWork = (chunks: Chunk[]) => Promise<void>;

/** "chunk 13/100 (120000 < key ≤ 130000)" or "chunks 13–16/100 (120000 < key ≤ 160000)". */
export function chunkLabel(chunks: Chunk[], total: number): string {
  const first = chunks[0];
  const last = chunks[chunks.length - 1];
  const nos = chunks.length === 1 ? `chunk ${first.no + 1}` : `chunks ${first.no + 1}–${last.no + 1}`;
  return `${nos}/${total} (${first.lo ?? '−∞'} < key ≤ ${last.hi ?? '∞'})`;
}

/**
 * One phase's queue of chunks, refilled from the progress table as it runs low (one refill at a
 * time, shared by the lanes that wait for it), until the table has none left, a lane failed, or
 * this run has taken its share of chunks and should continue as new.
 */
class ChunkQueue {
  private readonly queue: Chunk[] = [];
  fetched = 0;
  /** Chunks the lanes have taken and not yet reported. */
  private inFlight = 0;
  /** A copy segment's size, set at each refill (see refill). */
  private share = 1;
  stop: 'done' | 'continue' | 'failed' | undefined;
  private fetching: Promise<void> | undefined;
  /** Segments (see VERIFY_SEGMENTS and COPY_SEGMENTS); asked at the phase's first refill. */
  private segments: boolean | undefined;

  constructor(
    private readonly phase: LanePhase,
    private readonly input: MigrationSpec,
    private readonly state: MigrationState,
    private readonly takenBefore: number,
  ) {}

  /** The next batch for a lane; empty when there is no more work for this run. */
  async take(): Promise<Chunk[]> {
    while (this.queue.length === 0 && !this.stop) {
      this.fetching ??= this.refill().finally(() => (this.fetching = undefined));
      await this.fetching;
    }
    const remaining = this.state.remaining(this.phase);
    const { parallelism } = this.input;
    const n = !this.segments
      ? chunksPerActivity(remaining, parallelism)
      : this.phase === 'verify'
        ? verifyChunksPerActivity(remaining, parallelism)
        : this.share;
    const taken = this.queue.splice(0, n);
    this.inFlight += taken.length;
    return taken;
  }

  /** A lane's batch is done (its results are in the state). */
  settled(chunks: Chunk[]): void {
    this.inFlight -= chunks.length;
  }

  /** A lane failed: the other lanes finish the chunks they hold and take no more. */
  fail(): void {
    this.stop = 'failed';
    this.queue.length = 0;
  }

  private async refill(): Promise<void> {
    const { input, state } = this;
    const taken = this.takenBefore + this.fetched;
    if (shouldContinueAsNew(taken, input.chunksPerRun, historyIsLong())) {
      this.stop = 'continue';
      return;
    }
    this.segments ??= wf.patched(this.phase === 'verify' ? VERIFY_SEGMENTS : COPY_SEGMENTS);
    const perLane = !this.segments ? 4 : this.phase === 'verify' ? VERIFY_SEGMENT_CHUNKS : COPY_SEGMENT_CHUNKS;
    const limit = Math.min(input.parallelism * perLane, input.chunksPerRun - taken);
    const next = await acts.nextMigrationChunks.executeWithOptions(step(`next ${this.phase} chunks`), [
      input,
      this.phase,
      state.cursor,
      limit,
      { id: state.logId!, runKey: state.runKey },
    ]);
    state.fetched(next.chunks, next.nowMs);
    // A copy segment is an even share of the chunks no lane holds yet, fixed for the refill: the
    // lanes that take from it start about together. Counting the chunks in flight, the first lane
    // to finish near the end took everything left while the others stood idle; counting only what
    // is left at each take, lanes taking one after another at the start got ever smaller shares.
    this.share = copyChunksPerActivity(state.remaining(this.phase) - this.inFlight, input.parallelism);
    // A segmented phase's refill that returns fewer chunks than it asked for took the last of them
    // (no chunk after the cursor becomes pending meanwhile): no further refill is asked for.
    if (next.chunks.length === 0 || (this.segments && next.chunks.length < limit)) this.stop = 'done';
    this.queue.push(...next.chunks);
    this.fetched += next.chunks.length;
  }
}

/**
 * Lanes (as many as `parallelism`) take chunks from a queue that is refilled from the progress
 * table as it runs low, so no lane waits for a slow neighbour. After `chunksPerRun` chunks in
 * this run (copy and verification together) the lanes drain and the run continues as new with
 * the cursor, keeping each history small.
 */
export class ChunkLanes {
  private chunksThisRun = 0;

  constructor(
    private readonly input: MigrationSpec,
    private readonly state: MigrationState,
    private readonly phases: PhaseTracker,
    /** Continues as new with the carried state; never returns. */
    private readonly handOver: () => Promise<never>,
  ) {}

  async walk(phase: LanePhase, work: LaneWork): Promise<void> {
    const queue = new ChunkQueue(phase, this.input, this.state, this.chunksThisRun);
    const lane = async () => {
      for (;;) {
        await this.state.controls.waitWhilePaused();
        const chunks = await queue.take();
        if (chunks.length === 0) return;
        // Asked only when it matters, so runs that were never paused here record no marker.
        if (this.state.controls.paused && wf.patched(PAUSE_HOLDS_FETCHED_CHUNKS))
          await this.state.controls.waitWhilePaused();
        try {
          await work(chunks);
        } catch (err) {
          queue.fail();
          throw err;
        }
        queue.settled(chunks);
        this.phases.show();
      }
    };
    const settled = await Promise.allSettled(Array.from({ length: this.input.parallelism }, lane));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    this.chunksThisRun += queue.fetched;
    if (queue.stop === 'continue') await this.handOver();
  }
}

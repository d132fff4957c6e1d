// Why: runbooks §2's copy, one batch of chunks per activity: rows copied and flagged in the same
// transaction per chunk, each chunk committed once (the progress table says which).
import type { MigrationSpec } from '../../domain/migration/input';
import { chunkOptions, acts } from './activities';
import { withSummary } from '../common/progress';
import { chunkLabel, type ChunkLanes } from './lanes';
import type { MigrationState } from './state';

export async function copyLanes(input: MigrationSpec, state: MigrationState, lanes: ChunkLanes): Promise<void> {
  const shape = state.shape!;
  await lanes.walk('copy', async (chunks) => {
    const done = await acts.copyMigrationChunks.executeWithOptions(
      withSummary(chunkOptions, `copy ${chunkLabel(chunks, state.chunksTotal)}`),
      [input, shape, chunks, state.runKey],
    );
    state.copied(done);
  });
}

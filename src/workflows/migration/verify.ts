// Why: runbooks §2's consistency check, per chunk (counts, checksums, bisection to keys), and the
// verdict it ends in: a pass, or a failure naming the keys (or at least the chunks).
import * as wf from '@temporalio/workflow';
import type { MigrationSpec } from '../../domain/migration/input';
import { withSummary } from '../common/progress';
import { acts, chunkOptions } from './activities';
import { chunkLabel, type ChunkLanes } from './lanes';
import type { MigrationState } from './state';
import { verificationFailure, verificationOf, type MigrationVerification } from './status';

export async function verifyLanes(input: MigrationSpec, state: MigrationState, lanes: ChunkLanes): Promise<void> {
  const shape = state.shape!;
  await lanes.walk('verify', async (chunks) => {
    const results = await acts.verifyMigrationChunks.executeWithOptions(
      withSummary(chunkOptions, `verify ${chunkLabel(chunks, state.chunksTotal)}`),
      [input, shape, chunks],
    );
    state.verified(results, input.reportKeys);
  });
}

/**
 * The verification's outcome when this run verified (verify mode, or a copy with `verify`); a
 * failed one ends the run non-retryably, naming the keys, with the outcome as the failure's details.
 */
export function verdict(input: MigrationSpec, state: MigrationState): MigrationVerification | undefined {
  const status = state.view();
  const verification = verificationOf(status, input.mode === 'verify' || input.verify);
  if (verification && !verification.pass) {
    throw wf.ApplicationFailure.nonRetryable(verificationFailure(status), 'VerificationFailed', verification);
  }
  return verification;
}

// Build B's changed cutover step, for the worker-versioning test: the same wait for a batch's start,
// then (new in B) a notice to the run's notifiers that the batch is starting. Guarded by patched(),
// as a real change to a long workflow must be, so that runs begun on build A replay on B.
import * as wf from '@temporalio/workflow';
import { batchFailed, waitForStart as waitForStartOfA } from '../../../src/workflows/cutover/rollback';
import { notify, type Cutover } from '../../../src/workflows/cutover/steps';

export const BATCH_START_NOTICE = 'cutover-batch-start-notice';
export { batchFailed };

export async function waitForStart(c: Cutover, i: number): Promise<boolean> {
  const go = await waitForStartOfA(c, i);
  if (go && wf.patched(BATCH_START_NOTICE))
    await notify(
      c,
      'batch-starting',
      'info',
      `${c.run.label(i)} starting (build B)`,
      `${c.run.label(i)} of ${c.run.input.service} starts now.`,
      { batch: i },
    );
  return go;
}

// The real goLiveWorkflow with stand-in children under the stage workflows' names: the go-live's
// own orchestration (order, ids, signals passed on) is what the test looks at, not the stages'.
import * as wf from '@temporalio/workflow';
import type { OperatorInput } from '../../../src/workflows/common/operator-controls';
import { defineStatusQuery } from '../../../src/workflows/common/messages';
import { abortSignal } from '../../../src/workflows/cutover/messages';

export { goLiveWorkflow } from '../../../src/workflows/go-live/workflow';

export async function readinessCheckWorkflow(): Promise<unknown> {
  return { ready: true, blocking: [] };
}

export async function phasedRolloutWorkflow(): Promise<unknown> {
  await wf.sleep('1s');
  return { stepsCompleted: 1, cleanup: 'old backend drained' };
}

/** Waits for an abort and fails saying exactly what the abort carried. */
export async function userCutoverWorkflow(input: { service: string; batches?: { name: string }[] }): Promise<unknown> {
  let abort: OperatorInput | undefined;
  wf.setHandler(abortSignal, (i) => void (abort = i ?? {}));
  wf.setHandler(defineStatusQuery<string>(), () => (abort ? 'aborted' : 'moving'));
  await wf.condition(() => abort !== undefined, '10m');
  throw wf.ApplicationFailure.nonRetryable(
    `cutover of ${input.service} aborted with ${JSON.stringify(abort)} (batches ${input.batches?.map((b) => b.name).join(', ')})`,
    'CutoverAborted',
  );
}

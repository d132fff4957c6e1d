// Why: waiting for a batch's start (durable, reschedulable, skippable) and putting users back when
// a batch stops are where a cutover must never lose track of who is where; both sit here.
import * as wf from '@temporalio/workflow';
import { failureMessage } from '../common/failure';
import { stopSentence } from '../common/operator-controls';
import { Stop } from '../common/gate-window';
import { checkAbort } from './window';
import { notify, restore, setBatch, setState, type Cutover } from './steps';
import type { CutoverStatus } from './status';

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A durable timer until batch `i` starts, started again whenever a reschedule or skip changes the
 * schedule; false when the batch was skipped. An abort while waiting throws a Stop.
 */
export async function waitForStart(cutover: Cutover, i: number): Promise<boolean> {
  const { run } = cutover;
  for (let n = 0; n < 10_000; n++) {
    if (run.status.batches[i].state === 'skipped') return false;
    const at = run.startMs(i);
    run.status.nextStartAt = iso(at);
    setBatch(cutover, i, 'waiting');
    setState(cutover, 'waiting');
    checkAbort(cutover, i, false);
    const left = at - Date.now();
    if (left <= 0) break;
    const version = run.scheduleVersion;
    await wf.condition(() => run.scheduleVersion !== version || run.controls.aborted !== undefined, left, {
      summary: `${run.label(i)}: wait until ${iso(at)}`,
    });
  }
  run.status.nextStartAt = undefined;
  return true;
}

/**
 * Batch `i` stopped: restore every member's prior route (when any was moved; read back), restore
 * every earlier batch too on `abort {"all": true}`, mark later batches not started, tell people the
 * batch, metric and value, and fail the run saying so. A cancelled run restores, then ends cancelled.
 */
export async function batchFailed(cutover: Cutover, i: number, err: unknown): Promise<CutoverStatus> {
  if (wf.isCancellation(err)) {
    await wf.CancellationScope.nonCancellable(() =>
      stopBatch(cutover, i, new Stop('abort', `cancelled at ${cutover.run.label(i)}`)).catch(() => undefined),
    );
    throw err;
  }
  throw await stopBatch(cutover, i, err as Stop);
}

async function stopBatch(cutover: Cutover, i: number, stop: Stop): Promise<wf.ApplicationFailure> {
  const { run } = cutover;
  const { input, status } = run;
  const b = status.batches[i];
  const aborted = stop.kind === 'abort';
  const toRestore = [
    ...(b.moved !== undefined ? [i] : []),
    ...(aborted && run.abortAll ? run.movedBatches().filter((j) => j !== i) : []),
  ];
  if (toRestore.length > 0) setState(cutover, 'rolling-back');
  const restored: Record<string, number> = {};
  try {
    for (const j of toRestore) restored[input.batches[j].name] = await restore(cutover, j);
  } catch (err) {
    const message = `RESTORE FAILED: cutover of ${input.service} could not put back ${run.label(toRestore[Object.keys(restored).length] ?? i)}: ${failureMessage(err)}. Users may still be on the new system. Stopped because: ${stop.message}`;
    status.failure = message;
    setState(cutover, 'failed');
    await notify(cutover, 'restore-failed', 'emergency', `RESTORE FAILED: cutover of ${input.service}`, message, {
      batch: b.name,
      reason: stop.kind,
    });
    return wf.ApplicationFailure.nonRetryable(message, 'CutoverRestoreFailed', { batch: b.name });
  }
  if (b.moved === undefined) {
    setBatch(cutover, i, aborted ? 'not-started' : 'failed');
    b.note = `nothing of ${b.name} was moved: nothing to roll back`;
    run.decide(`${run.label(i)}: ${b.note}`);
  }
  for (let j = i + 1; j < input.batches.length; j++)
    if (status.batches[j].state === 'scheduled' || status.batches[j].state === 'waiting')
      status.batches[j].state = 'not-started';
  status.nextStartAt = undefined;
  const where = `${run.label(i)}`;
  const d = stop.details as { metric?: string; value?: number; max?: number };
  const what = stop.kind === 'gate' ? `${d.metric} ${d.value} > ${d.max} (${stop.message})` : stop.message;
  const restoredText = Object.entries(restored)
    .map(([name, n]) => `${n} users of ${name}`)
    .join(', ');
  const message = `${stopSentence(`cutover of ${input.service}`, stop, aborted ? 'aborted' : 'stopped', where, what)}; ${restoredText ? `restored ${restoredText} to their prior routes` : 'nothing to roll back'}; later batches will not start`;
  status.failure = message;
  run.decide(message);
  await notify(
    cutover,
    aborted ? 'abort' : `rollback-batch${i + 1}`,
    aborted ? 'warning' : 'critical',
    `Cutover of ${input.service} ${aborted ? 'aborted' : 'rolled back'} at batch ${i + 1} "${b.name}"`,
    message,
    {
      batch: b.name,
      reason: stop.kind,
      ...stop.details,
      restored,
    },
  );
  setState(cutover, aborted ? 'aborted' : toRestore.length > 0 ? 'rolled-back' : 'failed');
  return wf.ApplicationFailure.nonRetryable(
    message,
    aborted ? 'CutoverAborted' : toRestore.length > 0 ? 'CutoverRolledBack' : 'CutoverStopped',
    { batch: b.name, reason: stop.kind, ...stop.details, restored },
  );
}

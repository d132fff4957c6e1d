// Why: `reschedule` and `skip` change the plan of a running cutover; what they may change, and the
// refusal that says why not (an Update's validator writes nothing), are rules of their own.
import { resolveStartAt } from '../../domain/cutover/schedule';
import { formatDuration } from '../../domain/duration';
import type { CutoverRun } from './state';
import type { BatchSignal } from './status';

const iso = (ms: number) => new Date(ms).toISOString();

/** Finds a batch by 1-based number or name; a message when there is none. */
function findBatch(run: CutoverRun, ref: string | number | undefined): number | string {
  if (typeof ref === 'number')
    return Number.isInteger(ref) && ref >= 1 && ref <= run.input.batches.length
      ? ref - 1
      : `no batch ${ref} (1–${run.input.batches.length})`;
  const i = run.input.batches.findIndex((b) => b.name.toLowerCase() === String(ref ?? '').toLowerCase());
  return i >= 0
    ? i
    : `no batch named ${JSON.stringify(ref)} (batches: ${run.input.batches.map((b) => b.name).join(', ')})`;
}

/**
 * `reschedule`: a batch not started yet gets a new start time (offset from the cutover's start,
 * or ISO). Refused with a reason when the batch started, the time is past, or it would start
 * less than `minGap` after the batch before it ends (as planned).
 */
export function reschedule(run: CutoverRun, request: BatchSignal, nowMs: number): string {
  const plan = planReschedule(run, request, nowMs);
  if ('refused' in plan) return plan.refused;
  const b = run.status.batches[plan.i];
  b.startAt = iso(plan.at);
  run.scheduleVersion++;
  return `${run.label(plan.i)} rescheduled to ${b.startAt}${request.by ? ` by ${request.by}` : ''}`;
}

/** Why a reschedule is refused now (the Update's validator: nothing is written), or undefined. */
export function rescheduleRefusal(run: CutoverRun, request: BatchSignal, nowMs: number): string | undefined {
  const plan = planReschedule(run, request, nowMs);
  return 'refused' in plan ? plan.refused : undefined;
}

function planReschedule(
  run: CutoverRun,
  request: BatchSignal,
  nowMs: number,
): { refused: string } | { i: number; at: number } {
  const found = findBatch(run, request.batch);
  if (typeof found === 'string') return { refused: `reschedule refused: ${found}` };
  const b = run.status.batches[found];
  if (b.state !== 'scheduled' && b.state !== 'waiting')
    return { refused: `reschedule of ${run.label(found)} refused: it is ${b.state}` };
  let at: number;
  try {
    at = resolveStartAt(String(request.startAt ?? ''), run.originMs);
  } catch (err) {
    return { refused: `reschedule of ${run.label(found)} refused: startAt ${(err as Error).message}` };
  }
  if (at < nowMs) return { refused: `reschedule of ${run.label(found)} refused: ${iso(at)} is in the past` };
  const prev = previousEndMs(run, found);
  if (prev !== undefined && at < prev + run.input.minGap)
    return {
      refused: `reschedule of ${run.label(found)} refused: ${iso(at)} is less than ${formatDuration(run.input.minGap)} after the batch before it ends (${iso(prev)})`,
    };
  return { i: found, at };
}

/** The end of the last batch before `i` that moves: done (really ended) or planned (its start + window). */
function previousEndMs(run: CutoverRun, i: number): number | undefined {
  for (let j = i - 1; j >= 0; j--) {
    const b = run.status.batches[j];
    if (b.state === 'skipped') continue;
    if (b.endedAt) return Date.parse(b.endedAt);
    return run.startMs(j) + run.input.batches[j].window;
  }
  return undefined;
}

/** `skip`: a batch not started yet is left out; its users stay where they are (a later "rest" takes them). */
export function skip(run: CutoverRun, request: BatchSignal): string {
  const why = skipRefusal(run, request);
  if (why) return why;
  const found = findBatch(run, request.batch) as number;
  run.status.batches[found].state = 'skipped';
  run.scheduleVersion++;
  return `${run.label(found)} skipped${request.by ? ` by ${request.by}` : ''}`;
}

/** Why a skip is refused now (the Update's validator), or undefined. */
export function skipRefusal(run: CutoverRun, request: BatchSignal): string | undefined {
  const found = findBatch(run, request.batch);
  if (typeof found === 'string') return `skip refused: ${found}`;
  const b = run.status.batches[found];
  if (b.state !== 'scheduled' && b.state !== 'waiting') return `skip of ${run.label(found)} refused: it is ${b.state}`;
  return undefined;
}

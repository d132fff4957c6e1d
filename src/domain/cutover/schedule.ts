import { formatDuration, parseDuration } from '../duration';

/**
 * When batches start. Pure and workflow-safe: the workflow resolves offsets against its own start
 * time once, carries absolute times across continue-as-new, and sleeps on durable timers until them.
 */

const offsetPattern = /^\+(.+)$/;
/** An ISO time with its zone: a bare "2026-11-24T10:00" would depend on the worker's zone. */
const isoPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export type StartAtParse =
  | { ok: true; kind: 'offset'; ms: number }
  | { ok: true; kind: 'absolute'; ms: number }
  | { ok: false; message: string };

/** `"+4h"` (after the workflow's start) or `"2026-11-24T10:00:00Z"`. */
export function parseStartAt(given: string): StartAtParse {
  const off = offsetPattern.exec(given.trim());
  if (off) {
    const d = parseDuration(off[1], 0);
    return d.ok
      ? { ok: true, kind: 'offset', ms: d.ms }
      : { ok: false, message: `${JSON.stringify(given)}: the offset ${d.message}` };
  }
  if (isoPattern.test(given.trim())) {
    const ms = Date.parse(given.trim());
    if (Number.isFinite(ms)) return { ok: true, kind: 'absolute', ms };
  }
  return {
    ok: false,
    message: `${JSON.stringify(given)} is neither an offset such as "+4h" nor an ISO time with its zone such as "2026-11-24T10:00:00Z"`,
  };
}

/** The absolute time of a `startAt`, offsets counted from `originMs` (the workflow's start). */
export function resolveStartAt(given: string, originMs: number): number {
  const p = parseStartAt(given);
  if (!p.ok) throw new Error(p.message);
  return p.kind === 'offset' ? originMs + p.ms : p.ms;
}

export interface ScheduleBatch {
  startAt: string;
  /** Monitoring window, ms. */
  window: number;
}

export interface ScheduleIssue {
  /** Path inside the input: `batches.2.startAt`. */
  path: (string | number)[];
  message: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * What the requested start times say against `now` and each other: a start in the past, or one
 * that leaves less than `minGapMs` after the previous batch's window ends. Refused, not shifted:
 * an operator who wrote "+1h" for a batch must not find it silently running at +3h.
 */
export function scheduleIssues(
  batches: readonly ScheduleBatch[],
  originMs: number,
  nowMs: number,
  minGapMs: number,
): ScheduleIssue[] {
  const issues: ScheduleIssue[] = [];
  let previousEnd: number | undefined;
  batches.forEach((b, i) => {
    const p = parseStartAt(b.startAt);
    if (!p.ok) return; // the schema names it
    const start = p.kind === 'offset' ? originMs + p.ms : p.ms;
    if (start < nowMs)
      issues.push({
        path: ['batches', i, 'startAt'],
        message: `${b.startAt} (${iso(start)}) is in the past (now ${iso(nowMs)})`,
      });
    else if (previousEnd !== undefined && start < previousEnd + minGapMs)
      issues.push({
        path: ['batches', i, 'startAt'],
        message: `${b.startAt} (${iso(start)}) is less than ${formatDuration(minGapMs)} after batch ${i}'s window ends (${iso(previousEnd)})`,
      });
    previousEnd = start + b.window;
  });
  return issues;
}

/**
 * When a batch really starts: its requested time, but never sooner than `minGapMs` after the last
 * moved batch really ended (a hold or an approval can stretch a batch beyond its window).
 */
export function nextStartMs(requestedMs: number, lastEndMs: number | undefined, minGapMs: number): number {
  return lastEndMs === undefined ? requestedMs : Math.max(requestedMs, lastEndMs + minGapMs);
}

export interface PlannedBatch {
  name: string;
  startMs: number;
  endMs: number;
}

/** The planned timetable: each batch's start (gap applied) and the end of its window. */
export function plannedSchedule(
  batches: readonly (ScheduleBatch & { name: string })[],
  originMs: number,
  minGapMs: number,
): PlannedBatch[] {
  const out: PlannedBatch[] = [];
  for (const b of batches) {
    const startMs = nextStartMs(resolveStartAt(b.startAt, originMs), out.at(-1)?.endMs, minGapMs);
    out.push({ name: b.name, startMs, endMs: startMs + b.window });
  }
  return out;
}

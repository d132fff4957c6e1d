import { z } from 'zod';

/**
 * The one duration format of every workflow input and config field: a whole number of
 * milliseconds, or a string such as "250ms", "30s", "1.5m", "2h", "1d". Pure and workflow-safe.
 *
 * One minimum for both forms: a timer or a sampling interval below it would spin (a "0s" window
 * sampled forever), and a string must not get around a limit that a number cannot.
 */
export const MIN_DURATION_MS = 100;

const unitMs = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof unitMs;
const pattern = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

const allowed = `a whole number of milliseconds (at least ${MIN_DURATION_MS}) or a string such as 250ms, 30s, 30m, 2h or 1d`;

export type DurationParse = { ok: true; ms: number } | { ok: false; message: string };

/** `given` as it was written, so the message shows the operator's own text. */
const shown = (given: unknown) => (typeof given === 'string' ? JSON.stringify(given) : String(given));

/**
 * Parses one duration. The message names what was given and what is allowed, in one sentence,
 * without the field (the caller's path names it). `min` lets a field ask for more than the floor.
 */
export function parseDuration(given: unknown, min = MIN_DURATION_MS): DurationParse {
  let ms: number;
  if (typeof given === 'number') {
    if (!Number.isFinite(given) || !Number.isInteger(given))
      return { ok: false, message: `${shown(given)} is not ${allowed}` };
    ms = given;
  } else if (typeof given === 'string') {
    const m = pattern.exec(given.trim());
    if (!m) return { ok: false, message: `${shown(given)} is not ${allowed}` };
    ms = Math.round(parseFloat(m[1]) * unitMs[m[2] as Unit]);
  } else {
    return { ok: false, message: `${given === undefined ? 'nothing' : shown(given)} is not ${allowed}` };
  }
  if (ms < min) return { ok: false, message: `${shown(given)} is below the minimum of ${formatDuration(min)}` };
  return { ok: true, ms };
}

/**
 * The zod field: accepts what `parseDuration` accepts and yields milliseconds. Parsing its own
 * output again gives the same number (the CLI validates an input, the workflow parses the result).
 */
export function durationField(min = MIN_DURATION_MS) {
  const wrongType = (iss: { input?: unknown }) => {
    const r = parseDuration(iss.input, min);
    return r.ok ? undefined : r.message;
  };
  return z.union([z.number(), z.string()], { error: wrongType }).transform((given, ctx) => {
    const r = parseDuration(given, min);
    if (r.ok) return r.ms;
    ctx.addIssue({ code: 'custom', message: r.message, input: given });
    return z.NEVER;
  });
}

/** Milliseconds, at least 100 ms: the duration of every workflow input. */
export const duration = durationField();

/** True for a value that `duration` produced: callers comparing two durations skip invalid ones. */
export function isParsedDuration(ms: unknown, min = MIN_DURATION_MS): ms is number {
  return typeof ms === 'number' && Number.isInteger(ms) && ms >= min;
}

/** "30m" for people: the largest unit that divides the duration. */
export function formatDuration(ms: number): string {
  if (ms >= 86_400_000 && ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0 && ms !== 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms !== 0) return `${ms / 60_000}m`;
  if (ms < 1_000) return `${ms}ms`;
  return `${ms / 1000}s`;
}

/**
 * A config number in a fixed unit (`afterMinutes`, `healthIntervalSeconds`): held to the same
 * minimum as every duration, with the same message, and kept in its unit.
 */
export function durationIn(unit: 'seconds' | 'minutes', max: number) {
  const perUnit = unit === 'seconds' ? 1_000 : 60_000;
  return z.number().superRefine((n, ctx) => {
    if (n * perUnit < MIN_DURATION_MS)
      ctx.addIssue({
        code: 'custom',
        message: `${n} (${unit}) is below the minimum of ${formatDuration(MIN_DURATION_MS)}`,
      });
    else if (n > max)
      ctx.addIssue({ code: 'custom', message: `${n} (${unit}) is above the maximum of ${max} ${unit}` });
  });
}

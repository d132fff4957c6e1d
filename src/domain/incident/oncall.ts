import { z } from 'zod';
import { nonEmpty, targetNames } from '../fields';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day as HH:MM (24 h)');
const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
type Weekday = (typeof weekdays)[number];

/** An IANA time zone that this runtime knows (checked, so a typo fails at config load). */
const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'an IANA time zone such as UTC or Europe/Berlin');

/**
 * One shift of the rota: from `start` until `end` local time (an end before the start wraps past
 * midnight), on the given weekdays (of the local day the instant falls in).
 */
const shift = z
  .object({
    name: nonEmpty.max(40),
    start: hhmm,
    end: hhmm,
    days: z.array(z.enum(weekdays)).min(1).optional(),
    /** Who holds the pager (shown as the incident's owner until someone acknowledges). */
    oncall: nonEmpty.max(80).optional(),
    /** The notifiers that reach the on-call person of this shift. */
    notify: targetNames.default([]),
  })
  .strict()
  .refine((s) => s.start !== s.end, { message: 'a shift needs start different from end' });
type Shift = z.infer<typeof shift>;

export const rota = z
  .object({
    timezone: timeZone.default('UTC'),
    shifts: z.array(shift).min(1),
  })
  .strict();
export type Rota = z.infer<typeof rota>;

/** runbooks §6: day shift 09:00–18:00, night shift otherwise. */
export const defaultRota: Rota = {
  timezone: 'UTC',
  shifts: [
    { name: 'day', start: '09:00', end: '18:00', notify: [] },
    { name: 'night', start: '18:00', end: '09:00', notify: [] },
  ],
};

export interface OnCall {
  shift: string;
  oncall?: string;
  notify: string[];
  /** Local time of the instant in the rota's zone, for the timeline. */
  localTime: string;
}

/** The wall-clock time and weekday of an instant in a zone (Intl only: safe in workflow code). */
function localClock(at: Date, tz: string): { minutes: number; weekday: Weekday; text: string } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hour12: false,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const hour = Number(get('hour')) % 24; // some runtimes print midnight as 24
  const minute = Number(get('minute'));
  const weekday = get('weekday').slice(0, 3).toLowerCase() as Weekday;
  return {
    minutes: hour * 60 + minute,
    weekday,
    text: `${weekday} ${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')} ${tz}`,
  };
}

const toMinutes = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

function shiftCovers(s: Shift, minutes: number, weekday: Weekday): boolean {
  if (s.days && !s.days.includes(weekday)) return false;
  const start = toMinutes(s.start);
  const end = toMinutes(s.end);
  return start < end ? minutes >= start && minutes < end : minutes >= start || minutes < end;
}

/** Who is on call at an instant: the first shift that covers it; none is an empty on-call. */
export function onCallAt(r: Rota, at: Date): OnCall {
  const clock = localClock(at, r.timezone);
  const s = r.shifts.find((x) => shiftCovers(x, clock.minutes, clock.weekday));
  if (!s) return { shift: 'none', notify: [], localTime: clock.text };
  return { shift: s.name, oncall: s.oncall, notify: s.notify, localTime: clock.text };
}

/** Business hours for the P3 digest: the rota's day shift, on weekdays. */
export function isBusinessHours(r: Rota, at: Date, dayShift = 'day'): boolean {
  const clock = localClock(at, r.timezone);
  if (clock.weekday === 'sat' || clock.weekday === 'sun') return false;
  const s = r.shifts.find((x) => x.name === dayShift);
  return s ? shiftCovers({ ...s, days: undefined }, clock.minutes, clock.weekday) : true;
}

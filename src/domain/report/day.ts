/** Calendar days in a time zone, without a date library: Intl gives the zone's wall clock. */

/** `YYYY-MM-DD` of an instant in a zone. */
export function dayIn(timezone: string, at: Date): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);
}

/** The zone's offset from UTC at an instant, in ms (wall clock minus UTC). */
function offsetMs(timezone: string, at: number): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
      .formatToParts(new Date(at))
      .map((p) => [p.type, Number(p.value)]),
  );
  return (
    Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) -
    Math.floor(at / 1000) * 1000
  );
}

/** The instant a day begins in a zone (midnight wall clock), DST-aware. */
function midnight(timezone: string, day: string): number {
  const [y, m, d] = day.split('-').map(Number);
  const guess = Date.UTC(y, m - 1, d);
  const first = guess - offsetMs(timezone, guess);
  return guess - offsetMs(timezone, first);
}

/** The instants a calendar day of a zone spans: [from, to). */
export function dayBounds(timezone: string, day: string): { from: string; to: string } {
  const [y, m, d] = day.split('-').map(Number);
  const next = new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
  return {
    from: new Date(midnight(timezone, day)).toISOString(),
    to: new Date(midnight(timezone, next)).toISOString(),
  };
}

import { defaultRota, isBusinessHours, onCallAt, rota } from '../../src/domain/incident/oncall';

describe('on-call rota', () => {
  const r = rota.parse({
    timezone: 'Europe/Berlin',
    shifts: [
      { name: 'day', start: '09:00', end: '18:00', oncall: 'alice', notify: ['alice-sms'] },
      { name: 'night', start: '18:00', end: '09:00', oncall: 'bob', notify: ['bob-sms'] },
    ],
  });

  // Four people, so that a wrong zone, a wrong edge or "the first shift" gives a wrong name.
  const four = rota.parse({
    timezone: 'Europe/Berlin',
    shifts: [
      { name: 'night', start: '22:00', end: '06:00', oncall: 'bob', notify: ['bob-sms'] },
      { name: 'early', start: '06:00', end: '09:00', oncall: 'carol', notify: ['carol-sms'] },
      { name: 'day', start: '09:00', end: '18:00', oncall: 'alice', notify: ['alice-sms'] },
      { name: 'evening', start: '18:00', end: '22:00', oncall: 'dave', notify: ['dave-sms'] },
    ],
  });

  test.each([
    // winter (CET, UTC+1): the day shift's edges
    ['2026-01-15T07:59:00Z', 'carol', 'thu 08:59'],
    ['2026-01-15T08:00:00Z', 'alice', 'thu 09:00'], // start inclusive
    ['2026-01-15T16:59:00Z', 'alice', 'thu 17:59'],
    ['2026-01-15T17:00:00Z', 'dave', 'thu 18:00'], // end exclusive
    ['2026-01-15T21:00:00Z', 'bob', 'thu 22:00'],
    ['2026-01-16T04:59:00Z', 'bob', 'fri 05:59'], // a shift that wraps past midnight
    ['2026-01-16T05:00:00Z', 'carol', 'fri 06:00'],
    // summer (CEST, UTC+2): the same UTC instants are an hour later locally
    ['2026-07-15T06:59:00Z', 'carol', 'wed 08:59'],
    ['2026-07-15T07:00:00Z', 'alice', 'wed 09:00'],
    ['2026-07-15T08:00:00Z', 'alice', 'wed 10:00'],
    ['2026-07-15T15:59:00Z', 'alice', 'wed 17:59'],
    ['2026-07-15T16:00:00Z', 'dave', 'wed 18:00'],
    ['2026-07-15T17:00:00Z', 'dave', 'wed 19:00'],
    // spring forward, Sunday 2026-03-29 02:00 CET -> 03:00 CEST: 07:00 UTC is 08:00 the day before, 09:00 that day
    ['2026-03-28T07:00:00Z', 'carol', 'sat 08:00'],
    ['2026-03-29T00:59:00Z', 'bob', 'sun 01:59'],
    ['2026-03-29T01:00:00Z', 'bob', 'sun 03:00'],
    ['2026-03-29T06:59:00Z', 'carol', 'sun 08:59'],
    ['2026-03-29T07:00:00Z', 'alice', 'sun 09:00'],
    ['2026-03-29T16:00:00Z', 'dave', 'sun 18:00'],
    // fall back, Sunday 2026-10-25 03:00 CEST -> 02:00 CET: 08:00 UTC is 10:00 the day before, 09:00 that day
    ['2026-10-24T07:00:00Z', 'alice', 'sat 09:00'],
    ['2026-10-25T07:00:00Z', 'carol', 'sun 08:00'],
    ['2026-10-25T07:59:00Z', 'carol', 'sun 08:59'],
    ['2026-10-25T08:00:00Z', 'alice', 'sun 09:00'],
    ['2026-10-25T16:59:00Z', 'alice', 'sun 17:59'],
    ['2026-10-25T17:00:00Z', 'dave', 'sun 18:00'],
  ])('at %s the on-call person is %s (local %s in Europe/Berlin)', (at, person, local) => {
    const who = onCallAt(four, new Date(at));
    expect(who.oncall).toBe(person);
    expect(who.notify).toEqual([`${person}-sms`]);
    expect(who.localTime).toBe(`${local} Europe/Berlin`);
  });

  test('default rota: day 09:00–18:00 UTC, night otherwise', () => {
    expect(onCallAt(defaultRota, new Date('2026-01-15T09:00:00Z')).shift).toBe('day');
    expect(onCallAt(defaultRota, new Date('2026-01-15T17:59:00Z')).shift).toBe('day');
    expect(onCallAt(defaultRota, new Date('2026-01-15T18:00:00Z')).shift).toBe('night');
    expect(onCallAt(defaultRota, new Date('2026-01-15T00:00:00Z')).shift).toBe('night');
  });

  test('weekday shifts and the fallback when nothing covers', () => {
    const weekdaysOnly = rota.parse({
      timezone: 'UTC',
      shifts: [{ name: 'office', start: '09:00', end: '17:00', days: ['mon', 'tue', 'wed', 'thu', 'fri'] }],
    });
    expect(onCallAt(weekdaysOnly, new Date('2026-01-17T10:00:00Z')).shift).toBe('none'); // a Saturday
    expect(onCallAt(weekdaysOnly, new Date('2026-01-16T10:00:00Z')).shift).toBe('office'); // a Friday
  });

  test('business hours for the P3 digest', () => {
    expect(isBusinessHours(r, new Date('2026-01-15T10:00:00Z'))).toBe(true);
    expect(isBusinessHours(r, new Date('2026-01-15T20:00:00Z'))).toBe(false);
    expect(isBusinessHours(r, new Date('2026-01-17T10:00:00Z'))).toBe(false);
  });

  test('bad zone or times are refused, naming the field', () => {
    const bad = rota.safeParse({ timezone: 'Mars/Olympus', shifts: [{ name: 'x', start: '25:00', end: '09:00' }] });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['timezone', 'shifts.0.start']));
  });
});

import { defaultRota, isBusinessHours, onCallAt, rota } from '../../src/domain/oncall';

describe('on-call rota', () => {
  const r = rota.parse({
    timezone: 'Europe/Berlin',
    shifts: [
      { name: 'day', start: '09:00', end: '18:00', oncall: 'alice', notify: ['alice-sms'] },
      { name: 'night', start: '18:00', end: '09:00', oncall: 'bob', notify: ['bob-sms'] },
    ],
  });

  test('the shift is chosen by local time in the configured zone', () => {
    // 07:30 UTC in January is 08:30 in Berlin: still night
    expect(onCallAt(r, new Date('2026-01-15T07:30:00Z'))).toMatchObject({ shift: 'night', oncall: 'bob', notify: ['bob-sms'] });
    // 08:00 UTC = 09:00 Berlin: day starts (start inclusive)
    expect(onCallAt(r, new Date('2026-01-15T08:00:00Z'))).toMatchObject({ shift: 'day', oncall: 'alice' });
    // 17:00 UTC = 18:00 Berlin: night (end exclusive)
    expect(onCallAt(r, new Date('2026-01-15T17:00:00Z')).shift).toBe('night');
    // summer time: 07:30 UTC in July is 09:30 in Berlin
    expect(onCallAt(r, new Date('2026-07-15T07:30:00Z')).shift).toBe('day');
    expect(onCallAt(r, new Date('2026-07-15T07:30:00Z')).localTime).toBe('wed 09:30 Europe/Berlin');
  });

  test('default rota: day 09:00–18:00 UTC, night otherwise', () => {
    expect(onCallAt(defaultRota, new Date('2026-01-15T09:00:00Z')).shift).toBe('day');
    expect(onCallAt(defaultRota, new Date('2026-01-15T17:59:00Z')).shift).toBe('day');
    expect(onCallAt(defaultRota, new Date('2026-01-15T18:00:00Z')).shift).toBe('night');
    expect(onCallAt(defaultRota, new Date('2026-01-15T00:00:00Z')).shift).toBe('night');
  });

  test('weekday shifts and the fallback when nothing covers', () => {
    const weekdaysOnly = rota.parse({ timezone: 'UTC', shifts: [{ name: 'office', start: '09:00', end: '17:00', days: ['mon', 'tue', 'wed', 'thu', 'fri'] }] });
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

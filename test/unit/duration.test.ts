import { duration, formatDuration, parseDuration, MIN_DURATION_MS } from '../../src/domain/duration';
import { phasedRolloutInput } from '../../src/domain/rollout/input';
import { scheduleConfig } from '../../src/config/sections/schedules';
import { escalationLevel } from '../../src/domain/incident/escalation';
import { serviceRemediation } from '../../src/domain/incident/runbook';
import { formatIssues } from '../../src/domain/validation';
import type { z } from 'zod';

const lines = (schema: z.ZodType, raw: unknown): string[] => {
  const r = schema.safeParse(raw);
  return r.success ? [] : formatIssues(r.error).split('\n');
};
const rollout = {
  service: 'checkout-api',
  lb: 'edge',
  backends: { old: 'blue', new: 'green' },
  metricSources: ['probe'],
};

describe('one duration parser', () => {
  test('numbers are milliseconds; strings take ms, s, m, h, d, with decimals', () => {
    expect(parseDuration(100)).toEqual({ ok: true, ms: 100 });
    expect(parseDuration('250ms')).toEqual({ ok: true, ms: 250 });
    expect(parseDuration('1.5s')).toEqual({ ok: true, ms: 1_500 });
    expect(parseDuration('30m')).toEqual({ ok: true, ms: 1_800_000 });
    expect(parseDuration('2h')).toEqual({ ok: true, ms: 7_200_000 });
    expect(parseDuration('1d')).toEqual({ ok: true, ms: 86_400_000 });
  });

  test('one minimum, 100 ms, for numbers and strings alike: the message says what was given and what is allowed', () => {
    expect(MIN_DURATION_MS).toBe(100);
    for (const [given, shown] of [
      [0, '0'],
      [-5, '-5'],
      [99, '99'],
      ['0s', '"0s"'],
      ['0.01s', '"0.01s"'],
      ['99ms', '"99ms"'],
      ['0m', '"0m"'],
    ] as const) {
      expect(parseDuration(given)).toEqual({ ok: false, message: `${shown} is below the minimum of 100ms` });
    }
  });

  test('what is not a duration says what is allowed', () => {
    for (const given of ['5 minutes', '-5s', '1w', '', 1.5, Number.NaN, true, null, {}]) {
      const r = parseDuration(given);
      expect(r.ok).toBe(false);
      if (!r.ok)
        expect(r.message).toMatch(
          / is not a whole number of milliseconds \(at least 100\) or a string such as 250ms, 30s, 30m, 2h or 1d$/,
        );
    }
  });

  test('the zod field yields milliseconds and parses its own output again to the same number', () => {
    const once = duration.parse('90s');
    expect(once).toBe(90_000);
    expect(duration.parse(once)).toBe(90_000);
    expect(lines(duration, '0s')).toEqual(['(root): "0s" is below the minimum of 100ms']);
    expect(lines(duration, false)).toEqual([
      expect.stringMatching(/^\(root\): false is not a whole number of milliseconds/),
    ]);
  });

  test('formatDuration: the largest unit that divides it', () => {
    expect(formatDuration(100)).toBe('100ms');
    expect(formatDuration(1_500)).toBe('1.5s');
    expect(formatDuration(1_800_000)).toBe('30m');
    expect(formatDuration(7_200_000)).toBe('2h');
    expect(formatDuration(86_400_000)).toBe('1d');
  });
});

describe('every duration field uses it: one line per bad field, no derived second line', () => {
  test('rollout: "0s" sampleInterval and window are both refused (they used to sample forever)', () => {
    expect(
      lines(phasedRolloutInput, { ...rollout, sampleInterval: '0s', steps: [{ weight: 100, window: '0s' }] }),
    ).toEqual([
      'steps.0.window: "0s" is below the minimum of 100ms',
      'sampleInterval: "0s" is below the minimum of 100ms',
    ]);
  });

  test('rollout: a negative or zero numeric window gives its own line only, not a "shorter than sampleInterval" line', () => {
    expect(
      lines(phasedRolloutInput, { ...rollout, sampleInterval: '1s', steps: [{ weight: 100, window: -5 }] }),
    ).toEqual(['steps.0.window: -5 is below the minimum of 100ms']);
    expect(
      lines(phasedRolloutInput, { ...rollout, sampleInterval: '1s', steps: [{ weight: 100, window: 0 }] }),
    ).toEqual(['steps.0.window: 0 is below the minimum of 100ms']);
    expect(lines(phasedRolloutInput, { ...rollout, steps: [{ weight: 100, window: '0.01s' }] })).toEqual([
      'steps.0.window: "0.01s" is below the minimum of 100ms',
    ]);
    expect(lines(phasedRolloutInput, { ...rollout, holdTimeout: '0h' })).toEqual([
      'holdTimeout: "0h" is below the minimum of 100ms',
    ]);
  });

  test('rollout: two valid durations are still compared', () => {
    expect(
      lines(phasedRolloutInput, { ...rollout, sampleInterval: '1m', steps: [{ weight: 100, window: '10s' }] }),
    ).toEqual(['steps.0.window: window 10s is shorter than sampleInterval 1m']);
  });

  test('config schedules: every takes the same format and minimum', () => {
    expect(scheduleConfig.parse({ workflow: 'healthCheckWorkflow', every: '1d' }).every).toBe(86_400_000);
    expect(scheduleConfig.parse({ workflow: 'healthCheckWorkflow', every: '90s' }).every).toBe(90_000);
    expect(lines(scheduleConfig, { workflow: 'healthCheckWorkflow', every: '0s' })).toEqual([
      'every: "0s" is below the minimum of 100ms',
    ]);
  });

  test('incident config counts in minutes and seconds: the same minimum and message', () => {
    expect(lines(escalationLevel, { notify: ['on-call'], afterMinutes: 0 })).toEqual([
      'afterMinutes: 0 (minutes) is below the minimum of 100ms',
    ]);
    expect(lines(escalationLevel, { notify: ['on-call'], afterMinutes: -1 })).toEqual([
      'afterMinutes: -1 (minutes) is below the minimum of 100ms',
    ]);
    expect(escalationLevel.parse({ notify: ['on-call'], afterMinutes: 5 }).afterMinutes).toBe(5);
    expect(lines(serviceRemediation, { units: ['nginx'], healthIntervalSeconds: 0.01 })).toEqual([
      'healthIntervalSeconds: 0.01 (seconds) is below the minimum of 100ms',
    ]);
  });
});

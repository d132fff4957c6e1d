import { phasedRolloutInput, weightsFor, formatDuration } from '../../src/domain/rollout/input';
import { samplesPlanned } from '../../src/domain/gate/policy';
import { probePauseMs, probeStats } from '../../src/domain/gate/probe';
import { formatIssues } from '../../src/domain/validation';

const base = { service: 'checkout-api', lb: 'edge', backends: { old: 'blue', new: 'green' }, metricSources: ['probe'] };
const issues = (raw: unknown) => {
  const r = phasedRolloutInput.safeParse(raw);
  return r.success ? '' : formatIssues(r.error);
};

describe('phasedRolloutInput', () => {
  test('defaults are runbooks §1: 10 % internal for 30 min, 30 % for 60 min, 100 % for 120 min, sample every 60 s, 1 failure rolls back', () => {
    const input = phasedRolloutInput.parse(base);
    expect(input.steps).toEqual([
      { weight: 10, window: 30 * 60_000, targetUsers: ['internal'] },
      { weight: 30, window: 60 * 60_000 },
      { weight: 100, window: 120 * 60_000 },
    ]);
    expect(input.sampleInterval).toBe(60_000);
    expect(input.failuresToRollback).toBe(1);
    expect(input.cleanup).toBe('drain');
    expect(input.dryRun).toBe(false);
  });

  test('parsing is idempotent (the CLI parses, then the workflow parses the result again)', () => {
    const once = phasedRolloutInput.parse({
      ...base,
      sampleInterval: '5s',
      steps: [
        { weight: 50, window: '1m' },
        { weight: 100, window: '90s' },
      ],
    });
    expect(phasedRolloutInput.parse(once)).toEqual(once);
  });

  test('weights that do not rise are refused, naming the step', () => {
    expect(
      issues({
        ...base,
        steps: [
          { weight: 30, window: '1m' },
          { weight: 30, window: '1m' },
          { weight: 100, window: '1m' },
        ],
      }),
    ).toMatch(/steps\.1\.weight: weights must rise: step 2 has 30 % after 30 %/);
    expect(
      issues({
        ...base,
        steps: [
          { weight: 10, window: '1m' },
          { weight: 50, window: '1m' },
        ],
      }),
    ).toMatch(/steps\.1\.weight: the last step must send 100 %/);
  });

  test('no metric source, same old and new, bad durations, unknown fields: each named', () => {
    expect(issues({ ...base, metricSources: [] })).toMatch(
      /metricSources: a health gate needs at least one metric source/,
    );
    expect(issues({ ...base, backends: { old: 'a', new: 'a' } })).toMatch(
      /backends\.new: old and new must be different/,
    );
    expect(issues({ ...base, sampleInterval: '5 minutes' })).toMatch(/sampleInterval/);
    expect(issues({ ...base, steps: [{ weight: 100, window: '10s' }], sampleInterval: '1m' })).toMatch(
      /steps\.0\.window: window 10s is shorter than sampleInterval 1m/,
    );
    expect(issues({ ...base, gate: {} })).toMatch(/gate: a gate needs at least one metric/);
    expect(issues({ ...base, gate: { latency: 5 } })).toMatch(/gate/);
    expect(issues({ ...base, lbToken: 'x' })).toMatch(/lbToken|Unrecognized/i);
  });

  test('helpers: weights, samples per window, durations', () => {
    expect(weightsFor(10)).toEqual({ old: 90, new: 10 });
    expect(samplesPlanned(30 * 60_000, 60_000)).toBe(30);
    expect(samplesPlanned(1_000, 60_000)).toBe(1);
    expect(formatDuration(1_800_000)).toBe('30m');
    expect(formatDuration(7_200_000)).toBe('2h');
    expect(formatDuration(1_500)).toBe('1.5s');
  });
});

describe('probeStats', () => {
  test('error rate, mean and nearest-rank percentiles', () => {
    const lat = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100 ms
    const s = probeStats(lat, 7);
    expect(s).toEqual({ requests: 100, errorRatePercent: 7, meanMs: 50.5, p95Ms: 95, p99Ms: 99 });
  });
  test('no answers give NaN (inconclusive), never 0', () => {
    const s = probeStats([], 0);
    expect(Number.isNaN(s.errorRatePercent)).toBe(true);
    expect(Number.isNaN(s.p95Ms)).toBe(true);
  });
});

describe('probePauseMs', () => {
  test('the configured pause, but at most a tenth of the watched interval', () => {
    expect(probePauseMs(500, 60_000)).toBe(500);
    expect(probePauseMs(500, 5_000)).toBe(500);
    expect(probePauseMs(500, 1_000)).toBe(100);
    expect(probePauseMs(500, 999)).toBe(99);
    expect(probePauseMs(0, 1_000)).toBe(0);
    expect(probePauseMs(500, 5)).toBe(0);
  });
});

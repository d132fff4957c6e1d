import { baselineGateSpec, resolveBaselineGate } from '../../src/domain/baseline/gate';
import type { Baseline } from '../../src/domain/baseline/baseline';
import { describeGateResult, evaluateGate } from '../../src/domain/gate/evaluate';
import { formatIssues } from '../../src/domain/validation';

const now = new Date('2026-11-21T14:00:00Z');
const baseline = (over: Partial<Baseline> = {}): Baseline => ({
  service: 'checkout',
  workflowId: 'baseline-checkout',
  runId: 'r1',
  window: {
    start: '2026-11-20T13:00:00.000Z',
    end: '2026-11-20T14:00:00.000Z',
    durationMs: 3_600_000,
    intervalMs: 10_000,
  },
  complete: true,
  minimums: { samples: 30, requests: 100 },
  groups: [
    {
      group: 'host',
      kind: 'host',
      samples: 360,
      statistics: {},
      rates: {},
      thresholds: {
        cpuPercent: { warning: 40, critical: 50 },
        memoryPercent: { insufficient: '3 samples, fewer than the minimum of 30' },
      },
    },
    {
      group: 'http:a',
      kind: 'http',
      samples: 360,
      statistics: {},
      rates: {},
      thresholds: { p95Ms: { warning: 900, critical: 1200 }, errorRatePercent: { warning: 5, critical: 10 } },
    },
    {
      group: 'http:b',
      kind: 'http',
      samples: 360,
      statistics: {},
      rates: {},
      thresholds: {
        p95Ms: { warning: 1350, critical: 1800 },
        errorRatePercent: { insufficient: '40 requests, fewer than the minimum of 100' },
      },
    },
  ],
  ...over,
});
const spec = (raw: object) => baselineGateSpec.parse({ fromBaseline: 'checkout', ...raw });

describe('a gate from a baseline', () => {
  test('critical thresholds become the gate; with several URLs the largest counts; the description says when it was taken', () => {
    const r = resolveBaselineGate(spec({}), baseline(), now);
    expect(r).toEqual({
      ok: true,
      resolved: {
        gate: { errorRatePercent: 10, p95Ms: 1800 },
        sources: { errorRatePercent: 'baseline http:a', p95Ms: 'baseline http:b' },
        baseline: { workflowId: 'baseline-checkout', runId: 'r1', takenAt: '2026-11-20T14:00:00.000Z', complete: true },
        description: 'gate from baseline of checkout taken 2026-11-20 14:00: errorRatePercent 10 %, p95Ms 1800 ms',
      },
    });
  });

  test('the gate judges samples like any gate: a p95 under the default 3000 ms but over the baseline fails, naming the threshold', () => {
    const r = resolveBaselineGate(spec({}), baseline(), now);
    if (!r.ok) throw new Error(r.reason);
    const sample = {
      at: now.toISOString(),
      readings: [
        { metric: 'p95Ms' as const, source: 'probe', value: 2500 },
        { metric: 'errorRatePercent' as const, source: 'probe', value: 1 },
      ],
    };
    expect(describeGateResult(evaluateGate(r.resolved.gate, sample))).toBe('fail: p95Ms 2500 ms > 1800 ms (probe)');
    const quiet = {
      at: now.toISOString(),
      readings: [
        { metric: 'p95Ms' as const, source: 'probe', inconclusive: '3 requests < 10' },
        { metric: 'errorRatePercent' as const, source: 'probe', inconclusive: '3 requests < 10' },
      ],
    };
    expect(evaluateGate(r.resolved.gate, quiet).verdict).toBe('inconclusive');
  });

  test('no baseline, a partial one, an old one: refused with the reason', () => {
    expect(resolveBaselineGate(spec({}), null, now)).toEqual({
      ok: false,
      reason: 'gate from baseline: no complete baseline of checkout is stored (run `opsflow start baseline` first)',
    });
    expect(resolveBaselineGate(spec({}), baseline({ complete: false, partial: 'cancelled after 12m' }), now)).toEqual({
      ok: false,
      reason:
        'gate from baseline: the latest baseline of checkout is partial (cancelled after 12m); set acceptPartial to use it',
    });
    expect(resolveBaselineGate(spec({ maxAge: '12h' }), baseline(), now)).toEqual({
      ok: false,
      reason: 'gate from baseline: the latest baseline of checkout, taken 2026-11-20 14:00, is older than 12h',
    });
    const accepted = resolveBaselineGate(
      spec({ acceptPartial: true }),
      baseline({ complete: false, partial: 'cancelled after 12m' }),
      now,
    );
    expect(accepted.ok && accepted.resolved.description).toBe(
      'gate from baseline of checkout taken 2026-11-20 14:00 (PARTIAL): errorRatePercent 10 %, p95Ms 1800 ms',
    );
  });

  test('a metric the gate needs with insufficient data everywhere refuses the start, unless a fallback gives it', () => {
    expect(resolveBaselineGate(spec({ metrics: ['memoryPercent', 'cpuPercent'] }), baseline(), now)).toEqual({
      ok: false,
      reason:
        'gate from baseline of checkout taken 2026-11-20 14:00: memoryPercent has insufficient data (host: 3 samples, fewer than the minimum of 30)',
    });
    const r = resolveBaselineGate(
      spec({ metrics: ['memoryPercent', 'cpuPercent'], fallback: { memoryPercent: 85 } }),
      baseline(),
      now,
    );
    expect(r.ok && r.resolved.gate).toEqual({ memoryPercent: 85, cpuPercent: 50 });
    expect(r.ok && r.resolved.sources).toEqual({ memoryPercent: 'fallback', cpuPercent: 'baseline host' });
    expect(resolveBaselineGate(spec({ metrics: ['memoryPercent'] }), baseline({ groups: [] }), now)).toEqual({
      ok: false,
      reason: 'gate from baseline of checkout taken 2026-11-20 14:00: memoryPercent was not measured',
    });
  });

  test('overrides replace the baseline; a fallback replaces a missing baseline as a whole', () => {
    const r = resolveBaselineGate(spec({ overrides: { p95Ms: 2000 } }), baseline(), now);
    expect(r.ok && r.resolved.gate).toEqual({ errorRatePercent: 10, p95Ms: 2000 });
    const f = resolveBaselineGate(spec({ fallback: { errorRatePercent: 5, p95Ms: 3000 } }), null, now);
    expect(f).toMatchObject({
      ok: true,
      resolved: {
        gate: { errorRatePercent: 5, p95Ms: 3000 },
        description: expect.stringMatching(
          /^gate from explicit thresholds \(no complete baseline of checkout is stored/,
        ),
      },
    });
    expect(f.ok && f.resolved.baseline).toBeUndefined();
  });

  test('the spec names bad fields', () => {
    const r = baselineGateSpec.safeParse({ fromBaseline: 'checkout', metrics: ['latency'], maxAge: '1x' });
    expect(r.success).toBe(false);
    const lines = formatIssues(r.error!).split('\n');
    expect(lines.some((l) => l.startsWith('metrics.0: '))).toBe(true);
    expect(lines).toContain(
      'maxAge: "1x" is not a whole number of milliseconds (at least 100) or a string such as 250ms, 30s, 30m, 2h or 1d',
    );
  });
});

test('a measured threshold is taken rounded to 0.01, as the description shows it, so a failure names the same number', () => {
  const b: Baseline = {
    service: 'checkout',
    workflowId: 'baseline-checkout',
    runId: 'r1',
    complete: true,
    minimums: { samples: 30, requests: 100 },
    window: {
      start: '2026-11-20T13:00:00.000Z',
      end: '2026-11-20T14:00:00.000Z',
      durationMs: 3_600_000,
      intervalMs: 10_000,
    },
    groups: [
      {
        group: 'http:a',
        kind: 'http',
        samples: 360,
        statistics: {},
        rates: {},
        thresholds: {
          p95Ms: { warning: 85.30549999, critical: 113.7406666 },
          errorRatePercent: { warning: 5, critical: 10 },
        },
      },
    ],
  };
  const r = resolveBaselineGate(
    baselineGateSpec.parse({ fromBaseline: 'checkout' }),
    b,
    new Date('2026-11-21T14:00:00Z'),
  );
  expect(r.ok && r.resolved.gate).toEqual({ errorRatePercent: 10, p95Ms: 113.74 });
  expect(r.ok && r.resolved.description).toBe(
    'gate from baseline of checkout taken 2026-11-20 14:00: errorRatePercent 10 %, p95Ms 113.74 ms',
  );
  const sample = {
    at: '2026-11-21T14:00:00Z',
    readings: [
      { metric: 'p95Ms' as const, source: 'probe', value: 200 },
      { metric: 'errorRatePercent' as const, source: 'probe', value: 0 },
    ],
  };
  expect(r.ok && describeGateResult(evaluateGate(r.resolved.gate, sample))).toBe(
    'fail: p95Ms 200 ms > 113.74 ms (probe)',
  );
});

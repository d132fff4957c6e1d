import { phasedRolloutInput } from '../../src/domain/rollout/input';
import { healthCheckInput } from '../../src/domain/health/input';
import { resolveBaselineLevels, baselineLevelsSpec } from '../../src/domain/baseline/gate';
import type { Baseline } from '../../src/domain/baseline/baseline';
import { formatIssues } from '../../src/domain/validation';

const rollout = {
  service: 'checkout-api',
  lb: 'edge',
  backends: { old: 'blue', new: 'green' },
  metricSources: ['probe'],
};
const issues = (schema: typeof phasedRolloutInput | typeof healthCheckInput, raw: unknown) => {
  const r = schema.safeParse(raw);
  return r.success ? '' : formatIssues(r.error);
};

describe('"gate": { "fromBaseline": … } in a rollout input', () => {
  test('is accepted with the baseline spec defaults (critical thresholds of error rate and p95, at most 7 days old)', () => {
    const input = phasedRolloutInput.parse({ ...rollout, gate: { fromBaseline: 'checkout' } });
    expect(input.gate).toEqual({
      fromBaseline: 'checkout',
      maxAge: 7 * 86_400_000,
      acceptPartial: false,
      metrics: ['errorRatePercent', 'p95Ms'],
      overrides: {},
    });
  });

  test('with overrides, a configurable age and explicit fallback thresholds; parsing twice gives the same (CLI, then workflow)', () => {
    const once = phasedRolloutInput.parse({
      ...rollout,
      gate: {
        fromBaseline: 'checkout',
        maxAge: '2d',
        overrides: { p95Ms: 2000 },
        fallback: { errorRatePercent: 5, p95Ms: 3000 },
      },
    });
    expect(once.gate).toMatchObject({
      maxAge: 2 * 86_400_000,
      overrides: { p95Ms: 2000 },
      fallback: { errorRatePercent: 5, p95Ms: 3000 },
    });
    expect(phasedRolloutInput.parse(once)).toEqual(once);
  });

  test('explicit maximums still work, and an empty gate is still refused', () => {
    expect(phasedRolloutInput.parse({ ...rollout, gate: { errorRatePercent: 5, p95Ms: 3000 } }).gate).toEqual({
      errorRatePercent: 5,
      p95Ms: 3000,
    });
    expect(issues(phasedRolloutInput, { ...rollout, gate: {} })).toMatch(/^gate: a gate needs at least one metric/m);
  });

  test('a mistake is named in the fields of the baseline spec, not as an unreadable union', () => {
    const text = issues(phasedRolloutInput, {
      ...rollout,
      gate: { fromBaseline: 'checkout', maxAge: 'a week', metrics: ['latency'], overrides: { p95Ms: -1 }, extra: 1 },
    });
    const lines = text.split('\n');
    expect(lines.some((l) => l.startsWith('gate.maxAge: "a week" is not'))).toBe(true);
    expect(lines.some((l) => l.startsWith('gate.metrics.0: '))).toBe(true);
    expect(lines.some((l) => l.startsWith('gate.overrides.p95Ms: '))).toBe(true);
    expect(lines.some((l) => l.startsWith('gate') && /extra/.test(l))).toBe(true);
    expect(issues(phasedRolloutInput, { ...rollout, gate: { fromBaseline: 'no spaces allowed' } })).toMatch(
      /^gate\.fromBaseline: /m,
    );
    // Explicit maximums keep their own messages.
    expect(issues(phasedRolloutInput, { ...rollout, gate: { errorRatePercent: 'five' } })).toMatch(
      /^gate\.errorRatePercent: /m,
    );
  });
});

describe('"thresholds": { "fromBaseline": … } in a health-check input', () => {
  test('is accepted (CPU and memory by default); explicit thresholds keep working', () => {
    expect(healthCheckInput.parse({ thresholds: { fromBaseline: 'checkout', maxAge: '1d' } }).thresholds).toEqual({
      fromBaseline: 'checkout',
      maxAge: 86_400_000,
      acceptPartial: false,
      metrics: ['cpuPercent', 'memoryPercent'],
      overrides: {},
    });
    expect(
      healthCheckInput.parse({ thresholds: { cpuPercent: { warning: 70, critical: 80 } } }).thresholds,
    ).toMatchObject({ cpuPercent: { warning: 70, critical: 80 }, diskPercent: { warning: 80, critical: 85 } });
  });

  test('names bad fields: a metric the health check cannot take from a baseline, levels the wrong way round', () => {
    const text = issues(healthCheckInput, {
      thresholds: {
        fromBaseline: 'checkout',
        metrics: ['p95Ms'],
        fallback: { cpuPercent: { warning: 90, critical: 80 } },
      },
    });
    expect(text).toMatch(/^thresholds\.metrics\.0: /m);
    expect(text).toMatch(/^thresholds\.fallback\.cpuPercent: warning must not be above critical/m);
  });
});

describe('warning and critical levels from a baseline (the health check)', () => {
  const now = new Date('2026-11-21T14:00:00Z');
  const baseline: Baseline = {
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
        thresholds: { cpuPercent: { warning: 40, critical: 50 }, memoryPercent: { warning: 70, critical: 80 } },
      },
    ],
  };
  const spec = (raw: object) => baselineLevelsSpec.parse({ fromBaseline: 'checkout', ...raw });

  test('both levels of CPU and memory, with where they came from and when', () => {
    expect(resolveBaselineLevels(spec({}), baseline, now)).toEqual({
      ok: true,
      resolved: {
        levels: { cpuPercent: { warning: 40, critical: 50 }, memoryPercent: { warning: 70, critical: 80 } },
        sources: { cpuPercent: 'baseline host', memoryPercent: 'baseline host' },
        baseline: { workflowId: 'baseline-checkout', runId: 'r1', takenAt: '2026-11-20T14:00:00.000Z', complete: true },
        description:
          'thresholds from baseline of checkout taken 2026-11-20 14:00: cpuPercent 40/50 %, memoryPercent 70/80 %',
      },
    });
  });

  test('the same refusals as a gate: none, too old, insufficient; a fallback takes over', () => {
    expect(resolveBaselineLevels(spec({}), null, now)).toEqual({
      ok: false,
      reason:
        'thresholds from baseline: no complete baseline of checkout is stored (run `opsflow start baseline` first)',
    });
    expect(resolveBaselineLevels(spec({ maxAge: '1h' }), baseline, now)).toEqual({
      ok: false,
      reason: 'thresholds from baseline: the latest baseline of checkout, taken 2026-11-20 14:00, is older than 1h',
    });
    const thin = {
      ...baseline,
      groups: [
        {
          ...baseline.groups[0],
          thresholds: {
            cpuPercent: { insufficient: '3 samples, fewer than the minimum of 30' },
            memoryPercent: { warning: 70, critical: 80 },
          },
        },
      ],
    };
    expect(resolveBaselineLevels(spec({}), thin, now)).toEqual({
      ok: false,
      reason:
        'thresholds from baseline of checkout taken 2026-11-20 14:00: cpuPercent has insufficient data (host: 3 samples, fewer than the minimum of 30)',
    });
    const r = resolveBaselineLevels(spec({ fallback: { cpuPercent: { warning: 80, critical: 85 } } }), thin, now);
    expect(r.ok && r.resolved.levels).toEqual({
      cpuPercent: { warning: 80, critical: 85 },
      memoryPercent: { warning: 70, critical: 80 },
    });
    expect(r.ok && r.resolved.sources).toEqual({ cpuPercent: 'fallback', memoryPercent: 'baseline host' });
  });
});

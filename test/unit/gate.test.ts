import { evaluateGate, describeFailure, defaultGate, type Sample } from '../../src/domain/gate/evaluate';
import { nextGateStep, windowMayEnd, zeroCounters, type GateCounters } from '../../src/domain/gate/policy';
import type { Verdict } from '../../src/domain/gate/evaluate';

const sample = (...readings: Sample['readings']): Sample => ({ at: '2026-01-01T00:00:00Z', readings });

describe('evaluateGate', () => {
  test('every gated metric within its maximum passes; the maximum itself still passes', () => {
    const r = evaluateGate(
      { errorRatePercent: 5, responseTimeMs: 3000 },
      sample(
        { metric: 'errorRatePercent', source: 'probe', value: 5 },
        { metric: 'responseTimeMs', source: 'probe', value: 120 },
      ),
    );
    expect(r).toEqual({ verdict: 'pass', failures: [], inconclusive: [] });
  });

  test('a metric above its maximum fails, naming metric, value, maximum and source', () => {
    const r = evaluateGate(
      defaultGate,
      sample(
        { metric: 'errorRatePercent', source: 'probe', value: 12.5 },
        { metric: 'responseTimeMs', source: 'probe', value: 100 },
        { metric: 'cpuPercent', source: 'host', value: 10 },
        { metric: 'memoryPercent', source: 'host', value: 10 },
      ),
    );
    expect(r.verdict).toBe('fail');
    expect(r.failures).toEqual([{ metric: 'errorRatePercent', source: 'probe', value: 12.5, max: 5 }]);
    expect(describeFailure(r.failures[0])).toBe('errorRatePercent 12.5 % > 5 % (probe)');
  });

  test('Runbook thresholds: response time > 3000 ms, CPU > 80 %, memory > 85 % each fail', () => {
    for (const [metric, value] of [
      ['responseTimeMs', 3001],
      ['cpuPercent', 80.1],
      ['memoryPercent', 85.5],
    ] as const) {
      const r = evaluateGate(defaultGate, sample({ metric, source: 's', value }));
      expect(r.verdict).toBe('fail');
      expect(r.failures.map((f) => f.metric)).toEqual([metric]);
    }
  });

  test('an empty result, NaN, Infinity or a missing metric is inconclusive, never a pass', () => {
    const gate = { errorRatePercent: 5 };
    expect(evaluateGate(gate, sample()).verdict).toBe('inconclusive');
    expect(evaluateGate(gate, sample({ metric: 'errorRatePercent', source: 'prom', value: NaN })).verdict).toBe(
      'inconclusive',
    );
    expect(evaluateGate(gate, sample({ metric: 'errorRatePercent', source: 'prom', value: Infinity })).verdict).toBe(
      'inconclusive',
    );
    const r = evaluateGate(gate, sample({ metric: 'errorRatePercent', source: 'prom', inconclusive: 'empty result' }));
    expect(r.verdict).toBe('inconclusive');
    expect(r.inconclusive).toEqual([{ metric: 'errorRatePercent', source: 'prom', reason: 'empty result' }]);
  });

  test('a failure wins over doubt elsewhere; two sources of one metric are both judged', () => {
    const r = evaluateGate(
      { errorRatePercent: 5, cpuPercent: 80 },
      sample(
        { metric: 'errorRatePercent', source: 'prom', value: 1 },
        { metric: 'errorRatePercent', source: 'probe', value: 9 },
        { metric: 'cpuPercent', source: 'host', inconclusive: 'unreachable' },
      ),
    );
    expect(r.verdict).toBe('fail');
    expect(r.failures.map((f) => f.source)).toEqual(['probe']);
    expect(r.inconclusive).toHaveLength(1);
  });

  test('ungated metrics are ignored', () => {
    expect(
      evaluateGate(
        { errorRatePercent: 5 },
        sample(
          { metric: 'errorRatePercent', source: 'p', value: 0 },
          { metric: 'cpuPercent', source: 'h', value: 100 },
        ),
      ).verdict,
    ).toBe('pass');
  });
});

describe('nextGateStep', () => {
  const run = (
    verdicts: Verdict[],
    policy = { failuresToRollback: 1, inconclusive: { maxConsecutive: 3, countAsFailure: false } },
  ) => {
    let c: GateCounters = zeroCounters;
    return verdicts.map((v) => {
      const s = nextGateStep(c, v, policy);
      c = s.counters;
      return s.action;
    });
  };

  test('default: one failed sample rolls back', () => {
    expect(run(['pass', 'fail'])).toEqual(['continue', 'rollback']);
  });

  test('failuresToRollback counts failures in a row; a pass resets the run', () => {
    const p = { failuresToRollback: 3, inconclusive: { maxConsecutive: 10, countAsFailure: false } };
    expect(run(['fail', 'fail', 'pass', 'fail', 'fail', 'fail'], p)).toEqual([
      'continue',
      'continue',
      'continue',
      'continue',
      'continue',
      'rollback',
    ]);
  });

  test('an inconclusive sample between failures does not hide them', () => {
    const p = { failuresToRollback: 2, inconclusive: { maxConsecutive: 10, countAsFailure: false } };
    expect(run(['fail', 'inconclusive', 'fail'], p)).toEqual(['continue', 'continue', 'rollback']);
  });

  test('more inconclusive samples in a row than the limit hold the rollout; a pass resets the run', () => {
    expect(run(['inconclusive', 'inconclusive', 'pass', 'inconclusive', 'inconclusive', 'inconclusive'])).toEqual([
      'continue',
      'continue',
      'continue',
      'continue',
      'continue',
      'hold',
    ]);
  });

  test('countAsFailure makes doubt roll back like a failure', () => {
    const p = { failuresToRollback: 2, inconclusive: { maxConsecutive: 5, countAsFailure: true } };
    expect(run(['inconclusive', 'inconclusive'], p)).toEqual(['continue', 'rollback']);
  });

  test('counters keep totals', () => {
    const s = nextGateStep({ ...zeroCounters, totalFailures: 2 }, 'fail', {
      failuresToRollback: 5,
      inconclusive: { maxConsecutive: 3, countAsFailure: false },
    });
    expect(s.counters).toEqual({
      consecutiveFailures: 1,
      consecutiveInconclusive: 0,
      totalFailures: 3,
      totalInconclusive: 0,
    });
  });
});

describe('windowMayEnd', () => {
  test('only when enough samples were taken and the latest passed', () => {
    expect(windowMayEnd(3, 3, 'pass')).toBe(true);
    expect(windowMayEnd(2, 3, 'pass')).toBe(false);
    expect(windowMayEnd(3, 3, 'inconclusive')).toBe(false);
    expect(windowMayEnd(4, 3, 'pass')).toBe(true);
  });
});

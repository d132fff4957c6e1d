import { normalQuantile, sequentialDecision, type Observation } from '../../src/domain/gate/sequential';
import { evaluateGate } from '../../src/domain/gate/evaluate';

/** A seeded generator, so that "noise" is the same noise on every run. */
function lcg(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}
const requests = (n: number, errorShare: number, rnd: () => number, latencyMs = () => 20): Observation[] =>
  Array.from({ length: n }, () => ({ error: rnd() < errorShare, latencyMs: latencyMs() }));
const opts = { minRequests: 20, confidence: 0.9999 };

describe('sequentialDecision: does the evidence so far settle the gate as failed?', () => {
  test('a clear failure decides early, after healthy traffic, naming a stretch that fails the gate itself', () => {
    const rnd = lcg(1);
    const healthy = requests(600, 0.01, rnd);
    expect(sequentialDecision(healthy, { errorRatePercent: 5 }, opts).decision).toBe('undecided');
    const obs = [...healthy];
    let added = 0;
    let d = sequentialDecision(obs, { errorRatePercent: 5 }, opts);
    while (d.decision !== 'fail' && added < 1000) {
      obs.push(...requests(20, 0.3, rnd));
      added += 20;
      d = sequentialDecision(obs, { errorRatePercent: 5 }, opts);
    }
    expect(d.decision).toBe('fail');
    // Early: a few bursts after the fault, not the hundreds of requests a full window would hold.
    expect(added).toBeLessThanOrEqual(200);
    if (d.decision !== 'fail') return;
    expect(d.evidence.metric).toBe('errorRatePercent');
    expect(d.evidence.from).toBeGreaterThanOrEqual(500);
    expect(d.evidence.to - d.evidence.from + 1).toBeGreaterThanOrEqual(opts.minRequests);
    // The stretch's own figure fails the ordinary gate, so the workflow rolls back on it.
    const g = evaluateGate(
      { errorRatePercent: 5 },
      { at: '', readings: [{ metric: 'errorRatePercent', source: 'p', value: d.evidence.value }] },
    );
    expect(g.verdict).toBe('fail');
  });

  test('noise at the threshold does not decide: 200 windows of 1 200 requests at exactly the gate rate', () => {
    const rnd = lcg(7);
    let decided = 0;
    for (let w = 0; w < 200; w++)
      if (sequentialDecision(requests(1200, 0.05, rnd), { errorRatePercent: 5 }, opts).decision === 'fail') decided++;
    expect(decided).toBe(0);
  });

  test('too few requests never decides, however bad they are', () => {
    const allErrors = Array.from({ length: 19 }, () => ({ error: true, latencyMs: 99_999 }));
    for (let n = 0; n <= 19; n++)
      expect(
        sequentialDecision(allErrors.slice(0, n), { errorRatePercent: 5, p95Ms: 100, responseTimeMs: 100 }, opts),
      ).toEqual({ decision: 'too-few', requests: n });
    expect(
      sequentialDecision([...allErrors, { error: true, latencyMs: 1 }], { errorRatePercent: 5 }, opts).decision,
    ).toBe('fail');
  });

  test('slow requests fail p95 early; latency at the gate does not', () => {
    const rnd = lcg(3);
    const slow = requests(200, 0, rnd, () => (rnd() < 0.5 ? 900 : 50));
    const d = sequentialDecision(slow, { p95Ms: 500 }, opts);
    expect(d.decision).toBe('fail');
    if (d.decision === 'fail') expect(d.evidence.value).toBeGreaterThan(500);
    const atGate = requests(1200, 0, rnd, () => (rnd() < 0.05 ? 900 : 50));
    expect(sequentialDecision(atGate, { p95Ms: 500 }, opts).decision).toBe('undecided');
  });

  test('a mean latency clearly above the gate decides; one just under it does not', () => {
    const rnd = lcg(5);
    expect(
      sequentialDecision(
        requests(40, 0, rnd, () => 400 + rnd() * 100),
        { responseTimeMs: 300 },
        opts,
      ).decision,
    ).toBe('fail');
    expect(
      sequentialDecision(
        requests(1200, 0, rnd, () => 250 + rnd() * 100),
        { responseTimeMs: 300 },
        opts,
      ).decision,
    ).toBe('undecided');
  });

  test('a gate of 0 % fails on one error once there are enough requests; a gate of 100 % never fails', () => {
    const obs = [{ error: true, latencyMs: 1 }, ...Array.from({ length: 30 }, () => ({ error: false, latencyMs: 1 }))];
    expect(sequentialDecision(obs, { errorRatePercent: 0 }, opts).decision).toBe('fail');
    expect(
      sequentialDecision(
        obs.map(() => ({ error: true, latencyMs: 1 })),
        { errorRatePercent: 100 },
        opts,
      ).decision,
    ).toBe('undecided');
  });

  test('bad options are refused naming the field', () => {
    expect(() => sequentialDecision([], {}, { minRequests: 20, confidence: 1 })).toThrow(/confidence/);
    expect(() => sequentialDecision([], {}, { minRequests: 0, confidence: 0.99 })).toThrow(/minRequests/);
  });

  test('normalQuantile matches the table', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.96, 2);
    expect(normalQuantile(0.9999)).toBeCloseTo(3.719, 2);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.326, 2);
  });
});

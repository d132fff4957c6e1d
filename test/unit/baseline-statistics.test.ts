import {
  counterIncrease,
  max,
  mean,
  median,
  min,
  percentile,
  perSecond,
  ratePercent,
  stdev,
  summarize,
} from '../../src/domain/baseline/statistics';
import {
  cpuThreshold,
  errorRateThreshold,
  memoryThreshold,
  responseTimeThreshold,
  defaultMinimums,
} from '../../src/domain/baseline/thresholds';
import { summarizeGroup } from '../../src/domain/baseline/samples';
import { baselineInput, sampledGroups } from '../../src/domain/baseline/input';
import { baselineInputNames } from '../../src/config/input-names';
import { renderBaselineReport, type Baseline } from '../../src/domain/baseline/baseline';
import { formatIssues } from '../../src/domain/validation';
import { opsflowConfig } from '../../src/config/schema';

/**
 * A second, naive implementation: percentiles by the textbook definition (index (n−1)q, interpolate),
 * written with loops and no shared code, so a bug in one shows as a difference.
 */
function naivePercentile(values: number[], q: number): number {
  const s = values.slice();
  for (let i = 0; i < s.length; i++)
    for (let j = i + 1; j < s.length; j++) if (s[j] < s[i]) [s[i], s[j]] = [s[j], s[i]];
  const pos = (s.length - 1) * (q / 100);
  const below = Math.floor(pos);
  if (below + 1 >= s.length) return s[s.length - 1];
  return s[below] * (1 - (pos - below)) + s[below + 1] * (pos - below);
}
function naiveStdev(values: number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  const m = sum / values.length;
  let sq = 0;
  for (const v of values) sq += (v - m) * (v - m);
  return Math.sqrt(sq / (values.length - 1));
}
/** A deterministic pseudo-random sequence (LCG), so the comparison covers uneven data. */
function series(n: number, seed: number, scale: number): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return (x / 2 ** 31) * scale;
  });
}

describe('baseline statistics, against hand-computed values', () => {
  const v = [2, 4, 4, 4, 5, 5, 7, 9];
  test('mean, median, sample stdev, min, max of a known set', () => {
    expect(mean(v)).toBe(5);
    expect(median(v)).toBe(4.5);
    // Σ(x−5)² = 9+1+1+1+0+0+4+16 = 32; 32 / 7 → √4.571428… = 2.13809
    expect(stdev(v)).toBeCloseTo(2.138089935, 8);
    expect(min(v)).toBe(2);
    expect(max(v)).toBe(9);
  });

  test('p95 and p99 interpolate between closest ranks', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    // rank 99·0.95 = 94.05 → 95 + 0.05·(96−95) = 95.05
    expect(percentile(hundred, 95)).toBeCloseTo(95.05, 10);
    // rank 99·0.99 = 98.01 → 99.01
    expect(percentile(hundred, 99)).toBeCloseTo(99.01, 10);
    expect(percentile([10, 20], 50)).toBe(15);
    expect(percentile([7], 95)).toBe(7);
    expect(() => percentile([1], 101)).toThrow(/not between 0 and 100/);
    expect(() => mean([])).toThrow(/of no values/);
  });

  test('the same numbers as the naive implementation on uneven data', () => {
    for (const [n, seed] of [
      [7, 1],
      [360, 42],
      [1001, 7],
    ]) {
      const data = series(n, seed, 900);
      const s = summarize(data)!;
      expect(s.count).toBe(n);
      expect(s.p95).toBeCloseTo(naivePercentile(data, 95), 9);
      expect(s.p99).toBeCloseTo(naivePercentile(data, 99), 9);
      expect(s.median).toBeCloseTo(naivePercentile(data, 50), 9);
      expect(s.stdev).toBeCloseTo(naiveStdev(data), 9);
    }
  });

  test('non-finite values are dropped; nothing left is no summary', () => {
    expect(summarize([1, NaN, 3, Infinity])).toMatchObject({ count: 2, mean: 2 });
    expect(summarize([])).toBeUndefined();
  });

  test('rates: percent, per second, and counter growth across a reset', () => {
    expect(ratePercent(3, 200)).toBe(1.5);
    expect(ratePercent(0, 0)).toBeUndefined();
    expect(perSecond(60, 30_000)).toBe(2);
    // 100→150 (+50), reset to 20 (+20 since restart), 20→45 (+25)
    expect(counterIncrease([100, 150, 20, 45])).toBe(95);
    expect(counterIncrease([5])).toBe(0);
  });
});

describe('runbooks §5 thresholds', () => {
  const m = { samples: 4, requests: 10 };
  test('CPU: mean + 2σ and mean + 3σ', () => {
    const cpu = [2, 4, 4, 4, 5, 5, 7, 9];
    const s = 2.138089935;
    const t = cpuThreshold(cpu, m) as { warning: number; critical: number };
    expect(t.warning).toBeCloseTo(5 + 2 * s, 6);
    expect(t.critical).toBeCloseTo(5 + 3 * s, 6);
  });

  test('memory: min(85, mean + 10) and min(95, mean + 20), both sides of the cap', () => {
    expect(memoryThreshold([40, 50, 60, 50], m)).toEqual({ warning: 60, critical: 70 });
    expect(memoryThreshold([80, 80, 80, 80], m)).toEqual({ warning: 85, critical: 95 });
    expect(memoryThreshold([70, 70, 70, 70], m)).toEqual({ warning: 80, critical: 90 });
  });

  test('response time: p95 × 1.5 and p95 × 2', () => {
    const latencies = Array.from({ length: 100 }, (_, i) => i + 1);
    const t = responseTimeThreshold(latencies, m) as { warning: number; critical: number };
    expect(t.warning).toBeCloseTo(95.05 * 1.5, 9);
    expect(t.critical).toBeCloseTo(95.05 * 2, 9);
  });

  test('error rate: max(5, mean × 2) and max(10, mean × 3), both sides of the floor', () => {
    expect(errorRateThreshold(1, 100, m)).toEqual({ warning: 5, critical: 10 }); // 1 % → 2 / 3
    expect(errorRateThreshold(8, 100, m)).toEqual({ warning: 16, critical: 24 }); // 8 %
    expect(errorRateThreshold(4, 100, m)).toEqual({ warning: 8, critical: 12 }); // 4 %: warning 8, critical max(10, 12)
  });

  test('percentages are clamped to 100: a saturated host gets levels that exist, and keeps what the rule gave', () => {
    const saturated = [99.9, 100, 100, 99.8, 100, 100, 99.9, 100];
    const t = cpuThreshold(saturated, m) as {
      warning: number;
      critical: number;
      computed?: { warning: number; critical: number };
    };
    expect(t).toMatchObject({ warning: 100, critical: 100 });
    expect(t.computed!.warning).toBeGreaterThan(100);
    expect(t.computed!.critical).toBeGreaterThan(t.computed!.warning);
    // Half the requests failing: max(10, 50 × 3) = 150 % is no error rate.
    expect(errorRateThreshold(50, 100, m)).toEqual({
      warning: 100,
      critical: 100,
      computed: { warning: 100, critical: 150 },
    });
    expect(errorRateThreshold(40, 100, m)).toEqual({
      warning: 80,
      critical: 100,
      computed: { warning: 80, critical: 120 },
    });
    expect(cpuThreshold([40, 50, 60, 50], m)).not.toHaveProperty('computed');
  });

  test('below the minimum a threshold is insufficient data, never a number', () => {
    expect(cpuThreshold([1, 2, 3], m)).toEqual({ insufficient: '3 samples, fewer than the minimum of 4' });
    expect(memoryThreshold([], m)).toEqual({ insufficient: '0 samples, fewer than the minimum of 4' });
    expect(responseTimeThreshold([5, 6, 7], m)).toEqual({ insufficient: '3 requests, fewer than the minimum of 10' });
    // One error in three requests is 33 %: exactly the page a low-traffic service must not get.
    expect(errorRateThreshold(1, 3, m)).toEqual({ insufficient: '3 requests, fewer than the minimum of 10' });
    expect(defaultMinimums).toEqual({ samples: 30, requests: 100 });
  });
});

describe('a group from its raw ticks', () => {
  test('http: latencies pooled across ticks, error rate over all requests, thresholds from them', () => {
    const ticks = Array.from({ length: 10 }, (_, i) => ({
      latenciesMs: [10 + i, 20 + i],
      requests: 2,
      errors: i === 3 ? 1 : 0,
    }));
    const g = summarizeGroup('http:web', 'http', ticks, 10_000, { samples: 5, requests: 20 });
    const all = ticks.flatMap((t) => t.latenciesMs);
    expect(g).toMatchObject({ samples: 10, requests: 20, errors: 1 });
    expect(g.statistics.responseTimeMs!.p95).toBeCloseTo(naivePercentile(all, 95), 9);
    expect(g.rates.errorRatePercent).toBe(5);
    expect(g.rates.throughputPerSecond).toBe(1.9);
    expect(g.thresholds.errorRatePercent).toEqual({ warning: 10, critical: 15 });
    expect(g.thresholds.p95Ms).toEqual({
      warning: naivePercentile(all, 95) * 1.5,
      critical: naivePercentile(all, 95) * 2,
    });
  });

  test('http with too few requests: no error rate, insufficient thresholds', () => {
    const g = summarizeGroup(
      'http:web',
      'http',
      [{ latenciesMs: [5], requests: 1, errors: 1 }],
      10_000,
      defaultMinimums,
    );
    expect(g.rates.errorRatePercent).toBeUndefined();
    expect(g.thresholds.errorRatePercent).toEqual({ insufficient: '1 requests, fewer than the minimum of 100' });
  });

  test('postgres and redis hit ratios from counter growth', () => {
    const pg = summarizeGroup(
      'postgres:main',
      'postgres',
      [
        { connections: 3, databaseSizeBytes: 100, blksHit: 1000, blksRead: 10 },
        { connections: 5, databaseSizeBytes: 100, blksHit: 1090, blksRead: 20 },
      ],
      20_000,
      { samples: 2, requests: 100 },
    );
    expect(pg.rates.cacheHitRatioPercent).toBeCloseTo(90, 9); // 90 hits of 100 lookups
    expect(pg.statistics.connections!.mean).toBe(4);
    const redis = summarizeGroup(
      'redis:cache',
      'redis',
      [
        { clients: 2, usedMemoryBytes: 1, keyspaceHits: 0, keyspaceMisses: 0 },
        { clients: 2, usedMemoryBytes: 1, keyspaceHits: 30, keyspaceMisses: 10 },
      ],
      20_000,
      { samples: 2, requests: 100 },
    );
    expect(redis.rates.keyspaceHitRatePercent).toBeUndefined(); // 40 lookups < 100
  });
});

describe('baseline input', () => {
  const lines = (raw: unknown) => {
    const r = baselineInput.safeParse(raw);
    return r.success ? [] : formatIssues(r.error).split('\n');
  };
  test('defaults: host only, 60 min at 10 s, minimums 30 samples / 100 requests', () => {
    expect(baselineInput.parse({ service: 'checkout' })).toEqual({
      service: 'checkout',
      groups: { host: true, http: [], postgres: [], redis: [] },
      duration: 3_600_000,
      interval: 10_000,
      requestsPerSample: 3,
      minimums: { samples: 30, requests: 100 },
      notify: [],
    });
  });
  test('bad input names the field', () => {
    expect(lines({})).toContain('service: Invalid input: expected string, received undefined');
    expect(lines({ service: 'a', interval: '500ms' })).toEqual(['interval: "500ms" is below the minimum of 1s']);
    expect(lines({ service: 'a', duration: '5s', interval: '10s' })).toEqual([
      'duration: must be at least one interval long',
    ]);
    expect(lines({ service: 'a', groups: { host: false } })).toEqual([
      'groups: at least one group to sample (host, http, postgres or redis)',
    ]);
    expect(lines({ service: 'a', groups: { http: ['bad name'] } })[0]).toMatch(/^groups\.http\.0: /);
    expect(lines({ service: 'a', minimums: { samples: 1 } })[0]).toMatch(/^minimums\.samples: /);
  });
  test('groups get ids; config names are checked', () => {
    const input = baselineInput.parse({
      service: 'a',
      groups: { http: ['web', 'web'], redis: ['cache'] },
      notify: ['ops'],
    });
    expect(sampledGroups(input.groups)).toEqual([
      { id: 'host', kind: 'host' },
      { id: 'http:web', kind: 'http', target: 'web' },
      { id: 'redis:cache', kind: 'redis', target: 'cache' },
    ]);
    const config = opsflowConfig.parse({ http: { web: { url: 'http://127.0.0.1:1/' } } });
    expect(baselineInputNames(input, config).map((u) => `${u.field}=${u.name}`)).toEqual([
      'groups.redis.0=cache',
      'notify.0=ops',
    ]);
  });
});

test('the report shows partial baselines and insufficient thresholds in words', () => {
  const b: Baseline = {
    service: 'web',
    workflowId: 'baseline-web',
    runId: 'r',
    window: {
      start: '2026-11-20T14:00:00.000Z',
      end: '2026-11-20T14:10:00.000Z',
      durationMs: 3_600_000,
      intervalMs: 10_000,
    },
    complete: false,
    partial: 'cancelled after 10m',
    minimums: defaultMinimums,
    groups: [
      summarizeGroup('http:web', 'http', [{ latenciesMs: [5], requests: 1, errors: 0 }], 10_000, defaultMinimums),
    ],
  };
  const md = renderBaselineReport(b);
  expect(md).toContain('# Performance baseline: web (PARTIAL)');
  expect(md).toContain('**Partial:** cancelled after 10m');
  expect(md).toContain('| p95Ms | insufficient data (1 requests, fewer than the minimum of 100) |');
  expect(md).toContain('(1h, a sample every 10s)');
});

test('the report says when a percentage threshold was clamped to 100, and what the rule gave', () => {
  const ticks = [99.7, 100, 100, 99.8, 100, 100].map((cpuPercent) => ({
    cpuPercent,
    memoryPercent: 50,
    diskReadBytesPerSec: 0,
    diskWriteBytesPerSec: 0,
  }));
  const b: Baseline = {
    service: 'batch',
    workflowId: 'baseline-batch',
    runId: 'r',
    window: {
      start: '2026-11-20T14:00:00.000Z',
      end: '2026-11-20T14:01:00.000Z',
      durationMs: 60_000,
      intervalMs: 10_000,
    },
    complete: true,
    minimums: { samples: 4, requests: 10 },
    groups: [summarizeGroup('host', 'host', ticks, 60_000, { samples: 4, requests: 10 })],
  };
  const md = renderBaselineReport(b);
  expect(md).toContain(
    '| cpuPercent | 100 % / 100 % (clamped to 100 %: the rule gave 100.2 % / 100.3 %; the window ran near saturation, and a level at 100 % never fires: set it by hand) |',
  );
  expect(md).toContain('| memoryPercent | 60 % / 70 % |');
});

test('config.baseline.store must name a configured database', () => {
  const r = opsflowConfig.safeParse({ baseline: { store: { postgres: 'nope' } } });
  expect(r.success).toBe(false);
  expect(formatIssues(r.error!)).toBe('baseline.store.postgres: unknown postgres target "nope"');
  expect(
    opsflowConfig.parse({ postgres: { main: { database: 'ops' } }, baseline: { store: { postgres: 'main' } } }).baseline
      .store,
  ).toEqual({ postgres: 'main', schema: 'opsflow' });
});

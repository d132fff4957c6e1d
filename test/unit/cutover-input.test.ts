import {
  userCutoverInput,
  batchGate,
  baselineBatchGate,
  baselineRefs,
  thresholdsOf,
  cutoverWorkflowId,
  type BatchThresholds,
} from '../../src/domain/cutover/input';
import { userCutoverInputNames } from '../../src/config/input-names';
import { cohortsOverlap, describeCohort } from '../../src/domain/cutover/cohort';
import {
  nextStartMs,
  parseStartAt,
  plannedSchedule,
  resolveStartAt,
  scheduleIssues,
} from '../../src/domain/cutover/schedule';
import { formatIssues } from '../../src/domain/validation';
import { describeUnknownName } from '../../src/domain/config-names';
import { opsflowConfig } from '../../src/config/schema';
import { evaluateGate } from '../../src/domain/gate/evaluate';

const base = { service: 'portal', directory: 'staff', router: 'gateway', metricSources: ['prom'] };
const issues = (raw: unknown) => {
  const r = userCutoverInput.safeParse(raw);
  return r.success ? '' : formatIssues(r.error);
};
const H = 3_600_000;
const M = 60_000;
const batch = (name: string, cohort: unknown, startAt: string, extra: object = {}) => ({
  name,
  cohort,
  startAt,
  thresholds: { errorRatePercent: 5 },
  window: '30m',
  ...extra,
});

describe('userCutoverInput', () => {
  test('defaults are runbooks §3 exactly: four batches, 10/5/3/2 %, 30/60/120/180 min, +1h/+4h/+8h/+1d, 5000 ms, 10 complaints, 60 s, 1 h gap', () => {
    const input = userCutoverInput.parse(base);
    const t = (b: (typeof input.batches)[number]) => b.thresholds as BatchThresholds;
    expect(input.batches.map((b) => [b.name, b.cohort, b.startAt, t(b).errorRatePercent, b.window])).toEqual([
      ['IT department', { department: ['IT'] }, '+1h', 10, 30 * M],
      ['managers', { role: ['manager'] }, '+4h', 5, 60 * M],
      ['Sales', { department: ['Sales'] }, '+8h', 3, 120 * M],
      ['everyone else', { department: ['HR', 'Finance', 'Operations'] }, '+1d', 2, 180 * M],
    ]);
    for (const b of input.batches) expect(batchGate(t(b))).toMatchObject({ responseTimeMs: 5_000, complaints: 10 });
    expect(input.sampleInterval).toBe(60_000);
    expect(input.minGap).toBe(H);
    expect(cutoverWorkflowId(input.service)).toBe('cutover-portal');
  });

  test('parsing is idempotent (the CLI parses, the workflow parses the result again)', () => {
    const once = userCutoverInput.parse({
      ...base,
      batches: [
        batch('a', { role: ['x'] }, '+2h', { sampleInterval: '10s' }),
        batch('b', 'rest', '2030-01-01T00:00:00Z'),
      ],
    });
    expect(userCutoverInput.parse(once)).toEqual(once);
  });

  test('thresholds out of range are refused, naming the field', () => {
    expect(
      issues({ ...base, batches: [{ ...batch('a', 'rest', '+1h'), thresholds: { errorRatePercent: 0 } }] }),
    ).toMatch(/batches\.0\.thresholds\.errorRatePercent: must be above 0 %/);
    expect(
      issues({ ...base, batches: [{ ...batch('a', 'rest', '+1h'), thresholds: { errorRatePercent: 120 } }] }),
    ).toMatch(/batches\.0\.thresholds\.errorRatePercent: must be at most 100 %/);
    expect(
      issues({
        ...base,
        batches: [{ ...batch('a', 'rest', '+1h'), thresholds: { errorRatePercent: 5, responseTimeMs: -1 } }],
      }),
    ).toMatch(/batches\.0\.thresholds\.responseTimeMs/);
    expect(
      issues({
        ...base,
        batches: [{ ...batch('a', 'rest', '+1h'), thresholds: { errorRatePercent: 5, complaints: 1.5 } }],
      }),
    ).toMatch(/batches\.0\.thresholds\.complaints/);
    expect(issues({ ...base, batches: [{ ...batch('a', 'rest', '+1h'), thresholds: {} }] })).toMatch(
      /batches\.0\.thresholds: name at least one of errorRatePercent, responseTimeMs, complaints/,
    );
  });

  test("a batch names any subset of the metrics; what it leaves out keeps runbooks §3's fixed limits, and the error rate has none", () => {
    const parsed = userCutoverInput.parse({
      ...base,
      batches: [{ ...batch('a', 'rest', '+1h'), thresholds: { complaints: 3 } }],
    });
    expect(batchGate(parsed.batches[0].thresholds as BatchThresholds)).toEqual({ responseTimeMs: 5000, complaints: 3 });
    expect(batchGate({ errorRatePercent: 2, responseTimeMs: 800 })).toEqual({
      errorRatePercent: 2,
      responseTimeMs: 800,
      complaints: 10,
    });
  });

  test('thresholds from a baseline: per batch or for the input, each distinct reference resolved once; its mistakes named; a batch with none refused', () => {
    const input = userCutoverInput.parse({
      ...base,
      thresholds: { fromBaseline: 'portal', fallback: { errorRatePercent: 4 } },
      batches: [
        { ...batch('a', { role: ['x'] }, '+1h'), thresholds: undefined },
        { ...batch('b', { role: ['y'] }, '+4h'), thresholds: { fromBaseline: 'portal', maxAge: '1d' } },
        { ...batch('c', 'rest', '+8h'), thresholds: undefined },
      ],
    });
    expect(thresholdsOf(input, 0)).toMatchObject({
      fromBaseline: 'portal',
      maxAge: 7 * 24 * H,
      fallback: { errorRatePercent: 4 },
    });
    expect(baselineRefs(input).map((r) => [r.spec.fromBaseline, r.spec.maxAge, r.batches])).toEqual([
      ['portal', 7 * 24 * H, [0, 2]],
      ['portal', 24 * H, [1]],
    ]);
    expect(userCutoverInput.parse(input)).toEqual(input);
    // The baseline's critical maximums, under runbooks §3's fixed limits on response time and complaints.
    expect(baselineBatchGate({ errorRatePercent: 1.2, p95Ms: 840 })).toEqual({
      errorRatePercent: 1.2,
      p95Ms: 840,
      responseTimeMs: 5000,
      complaints: 10,
    });
    expect(
      issues({
        ...base,
        batches: [{ ...batch('a', 'rest', '+1h'), thresholds: { fromBaseline: 'portal', metrics: ['latency'] } }],
      }),
    ).toMatch(/batches\.0\.thresholds\.metrics\.0/);
    expect(
      issues({
        ...base,
        batches: [{ ...batch('a', 'rest', '+1h'), thresholds: { fromBaseline: 'portal', errorRatePercent: 5 } }],
      }),
    ).toMatch(/batches\.0\.thresholds.*errorRatePercent|Unrecognized/);
    expect(issues({ ...base, thresholds: { fromBaseline: '' }, batches: [batch('a', 'rest', '+1h')] })).toMatch(
      /thresholds\.fromBaseline/,
    );
    expect(issues({ ...base, batches: [{ ...batch('a', 'rest', '+1h'), thresholds: undefined }] })).toMatch(
      /batches\.0\.thresholds: give the batch's thresholds here or the input's thresholds/,
    );
  });

  test('overlapping explicit cohorts are refused; cohorts over different fields and "rest" are not', () => {
    expect(
      issues({
        ...base,
        batches: [batch('a', { department: ['IT'] }, '+1h'), batch('b', { department: ['Sales', 'IT'] }, '+4h')],
      }),
    ).toMatch(/batches\.1\.cohort: department in \(Sales, IT\) overlaps batch 1 \(department = IT\)/);
    expect(
      issues({
        ...base,
        batches: [
          batch('a', { department: ['IT'] }, '+1h'),
          batch('b', { role: ['manager'] }, '+4h'),
          batch('c', 'rest', '+8h'),
        ],
      }),
    ).toBe('');
    expect(cohortsOverlap({ department: ['IT'], role: ['a'] }, { department: ['IT'], role: ['b'] })).toBe(false);
    expect(cohortsOverlap({ department: ['IT'], role: ['a'] }, { role: ['a', 'b'], department: ['IT'] })).toBe(true);
  });

  test('bad cohorts, startAt, names and windows: each named', () => {
    expect(issues({ ...base, batches: [batch('a', 'rest', '+1h'), batch('b', { role: ['x'] }, '+4h')] })).toMatch(
      /batches\.0\.cohort: "rest" .* only be the last batch/,
    );
    expect(issues({ ...base, batches: [batch('a', 'everyone', '+1h')] })).toMatch(
      /batches\.0\.cohort: a filter such as/,
    );
    expect(issues({ ...base, batches: [batch('a', { department: [] }, '+1h')] })).toMatch(/batches\.0\.cohort/);
    expect(issues({ ...base, batches: [batch('a', {}, '+1h')] })).toMatch(/batches\.0\.cohort/);
    expect(issues({ ...base, batches: [batch('a', 'rest', 'tomorrow')] })).toMatch(
      /batches\.0\.startAt: "tomorrow" is neither an offset/,
    );
    expect(issues({ ...base, batches: [batch('a', 'rest', '2030-01-01T10:00')] })).toMatch(
      /batches\.0\.startAt: .* ISO time with its zone/,
    );
    expect(issues({ ...base, batches: [batch('a', 'rest', '+4 hours')] })).toMatch(
      /batches\.0\.startAt: "\+4 hours": the offset/,
    );
    expect(issues({ ...base, batches: [batch('x', { role: ['a'] }, '+1h'), batch('X', 'rest', '+4h')] })).toMatch(
      /batches\.1\.name: "X" is already batch 1's name/,
    );
    expect(issues({ ...base, batches: [batch('a', 'rest', '+1h', { window: '30s' })] })).toMatch(
      /batches\.0\.window: window 30s is shorter than sampleInterval 1m/,
    );
    expect(issues({ ...base, metricSources: [] })).toMatch(
      /metricSources: a batch gate needs at least one metric source/,
    );
    expect(issues({ ...base, routerToken: 'x' })).toMatch(/routerToken|Unrecognized/i);
  });

  test('a batch gate judges complaints with the rollout gate: above the maximum fails, missing is inconclusive', () => {
    const gate = batchGate(userCutoverInput.parse(base).batches[0].thresholds as BatchThresholds);
    expect(gate).toEqual({ errorRatePercent: 10, responseTimeMs: 5000, complaints: 10 });
    const r = (complaints?: number) =>
      evaluateGate(gate, {
        at: '',
        readings: [
          { metric: 'errorRatePercent', source: 's', value: 1 },
          { metric: 'responseTimeMs', source: 's', value: 100 },
          ...(complaints === undefined ? [] : [{ metric: 'complaints' as const, source: 'c', value: complaints }]),
        ],
      }).verdict;
    expect([r(10), r(11), r(undefined)]).toEqual(['pass', 'fail', 'inconclusive']);
  });

  test('describeCohort', () => {
    expect(describeCohort({ department: ['HR', 'Finance'], role: ['manager'] })).toBe(
      'department in (HR, Finance) and role = manager',
    );
    expect(describeCohort('rest')).toMatch(/everyone not moved/);
  });
});

describe('cutover schedule', () => {
  const origin = Date.parse('2026-11-24T00:00:00Z');
  test('runbooks §3 timetable: +1h/+4h/+8h/+1d with their windows; at least 1 h between one end and the next start', () => {
    const input = userCutoverInput.parse(base);
    const plan = plannedSchedule(input.batches, origin, input.minGap);
    expect(plan.map((p) => [(p.startMs - origin) / H, (p.endMs - origin) / M])).toEqual([
      [1, 90],
      [4, 300],
      [8, 600],
      [24, 1620],
    ]);
    expect(scheduleIssues(input.batches, origin, origin, input.minGap)).toEqual([]);
    // A batch that ran long pushes the next one out, never earlier than requested.
    expect(nextStartMs(origin + 4 * H, origin + 3.5 * H, H)).toBe(origin + 4.5 * H);
    expect(nextStartMs(origin + 4 * H, origin + 2 * H, H)).toBe(origin + 4 * H);
    expect(nextStartMs(origin + 4 * H, undefined, H)).toBe(origin + 4 * H);
  });

  test('a start in the past and a start within the gap are refused, naming the batch', () => {
    const batches = [
      { startAt: '2026-11-23T23:00:00Z', window: 30 * M },
      { startAt: '+2h', window: 30 * M },
      { startAt: '+3h', window: 30 * M },
    ];
    const got = scheduleIssues(batches, origin, origin, H);
    expect(got.map((i) => i.path.join('.'))).toEqual(['batches.0.startAt', 'batches.2.startAt']);
    expect(got[0].message).toMatch(/is in the past/);
    expect(got[1].message).toMatch(/less than 1h after batch 2's window ends \(2026-11-24T02:30:00.000Z\)/);
  });

  test('startAt: offsets from the origin, ISO times with a zone', () => {
    expect(resolveStartAt('+1d', origin)).toBe(origin + 24 * H);
    expect(resolveStartAt('2026-11-24T02:00:00+01:00', origin)).toBe(origin + H);
    expect(parseStartAt('+0s')).toEqual({ ok: true, kind: 'offset', ms: 0 });
    expect(() => resolveStartAt('soon', origin)).toThrow(/neither an offset/);
  });
});

describe('cutover config', () => {
  const config = {
    postgres: { main: { database: 'test' } },
    redis: { cache: {} },
    directories: {
      staff: { type: 'postgres', postgres: 'main', table: 'hr.users' },
      api: { type: 'http', url: 'http://127.0.0.1:1/api', token: { env: 'DIR_TOKEN' } },
    },
    routers: {
      gateway: { type: 'redis', redis: 'cache' },
      legacy: { type: 'http', url: 'http://127.0.0.1:1/api', token: { env: 'ROUTER_TOKEN' } },
    },
    metricSources: { prom: { type: 'prometheus', url: 'http://127.0.0.1:9090' } },
    cutover: { store: { postgres: 'main' } },
  };
  test('directories, routers and the store parse with their defaults', () => {
    const c = opsflowConfig.parse(config);
    expect(c.directories.staff).toMatchObject({
      idColumn: 'id',
      columns: { department: 'department', role: 'role' },
      pageSize: 50_000,
    });
    expect(c.routers.gateway).toMatchObject({
      key: 'opsflow:routes:$service',
      systems: { old: 'old_system', new: 'new_system' },
      chunkSize: 10_000,
    });
    expect(c.routers.legacy).toMatchObject({ concurrency: 32, retries: 5 });
    expect(userCutoverInputNames(userCutoverInput.parse(base), c)).toEqual([]);
  });

  test('unknown targets in the config and unknown names in an input are refused, naming the field', () => {
    const bad = opsflowConfig.safeParse({
      ...config,
      routers: { gateway: { type: 'redis', redis: 'nope' } },
      cutover: { store: { postgres: 'x' } },
    });
    expect(bad.success ? '' : formatIssues(bad.error)).toMatch(
      /routers\.gateway\.redis: unknown redis target "nope"[\s\S]*cutover\.store\.postgres: unknown postgres target "x"/,
    );
    const secretInline = opsflowConfig.safeParse({
      ...config,
      routers: { legacy: { type: 'http', url: 'http://127.0.0.1:1', token: 'abc' } },
    });
    expect(secretInline.success).toBe(false);
    const c = opsflowConfig.parse(config);
    const input = userCutoverInput.parse({ ...base, router: 'edge', batches: [batch('a', { site: ['x'] }, '+1h')] });
    expect(userCutoverInputNames(input, c).map((u) => `${u.field}:${u.name}`)).toEqual([
      'router:edge',
      'batches.0.cohort.site:site',
    ]);
  });

  test('every metric a batch names needs a metric source that reports it; a complaints-only cutover needs only a count', () => {
    const c = opsflowConfig.parse({
      ...config,
      metricSources: {
        prom: { type: 'prometheus', url: 'http://127.0.0.1:9090', queries: { responseTimeMs: null, p95Ms: null } },
        complaints: {
          type: 'postgres-count',
          postgres: 'main',
          table: 'support.complaints',
          timestampColumn: 'created_at',
        },
      },
    });
    const names = (raw: object) => userCutoverInputNames(userCutoverInput.parse({ ...base, ...raw }), c);
    const complaintsOnly = {
      metricSources: ['complaints'],
      batches: [{ ...batch('IT', { department: ['IT'] }, '+1h'), thresholds: { complaints: 3 } }],
    };
    expect(names(complaintsOnly)).toEqual([]);
    const refused = names({
      metricSources: ['complaints'],
      batches: [
        batch('IT', { department: ['IT'] }, '+1h'),
        { ...batch('Sales', { department: ['Sales'] }, '+3h'), thresholds: { complaints: 1 } },
      ],
    });
    expect(refused.map((u) => describeUnknownName(u, 'opsflow.yaml'))).toEqual([
      'batches.0.thresholds.errorRatePercent: "errorRatePercent" is not reported by metricSources complaints (batch "IT" is gated on it) in opsflow.yaml (known: complaints)',
    ]);
    // the input's thresholds, taken by two batches, are named once with both batches
    const shared = names({
      metricSources: ['prom'],
      thresholds: { errorRatePercent: 5, responseTimeMs: 900 },
      batches: [
        { ...batch('IT', { department: ['IT'] }, '+1h'), thresholds: undefined },
        { ...batch('Sales', { department: ['Sales'] }, '+3h'), thresholds: undefined },
      ],
    });
    expect(shared.map((u) => [u.field, u.what])).toEqual([
      ['thresholds.responseTimeMs', 'reported by metricSources prom (batch "IT", batch "Sales" are gated on it)'],
    ]);
    // both sources together report both metrics
    expect(
      names({
        metricSources: ['prom', 'complaints'],
        batches: [
          { ...batch('IT', { department: ['IT'] }, '+1h'), thresholds: { errorRatePercent: 5, complaints: 2 } },
        ],
      }),
    ).toEqual([]);
    // a gate from a baseline needs a source for one of the metrics it asks the baseline for
    const fromBaseline = (metricSources: string[]) =>
      names({
        metricSources,
        batches: [{ ...batch('IT', { department: ['IT'] }, '+1h'), thresholds: { fromBaseline: 'portal' } }],
      });
    expect(fromBaseline(['prom'])).toEqual([]);
    expect(fromBaseline(['complaints']).map((u) => `${u.field}:${u.name}`)).toEqual([
      'batches.0.thresholds.metrics:errorRatePercent, p95Ms',
    ]);
  });
});

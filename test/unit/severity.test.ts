import { classify, defaultSeverityRules, severityRule, slaClocks, type Classifiable } from '../../src/domain/incident/severity';

const inc = (over: Partial<Classifiable>): Classifiable => ({ type: 'other', services: [], metrics: {}, labels: {}, ...over });

describe('classify (SPEC §6 table)', () => {
  test.each([
    ['web server down', inc({ type: 'service_down', services: ['web-server', 'api'] }), 'P0'],
    ['database down', inc({ type: 'database_down' }), 'P0'],
    ['error rate 51%', inc({ metrics: { errorRate: 51 } }), 'P0'],
    ['error rate exactly 50% is not > 50', inc({ metrics: { errorRate: 50 } }), 'P1'],
    ['response time 10001 ms', inc({ metrics: { responseTimeMs: 10_001 } }), 'P1'],
    ['error rate 21%', inc({ metrics: { errorRate: 21 } }), 'P1'],
    ['high_cpu at 96%', inc({ type: 'high_cpu', metrics: { cpuPercent: 96 } }), 'P1'],
    ['high_cpu at 95% is not > 95', inc({ type: 'high_cpu', metrics: { cpuPercent: 95 } }), 'P3'],
    ['cpu 99% but not a high_cpu incident', inc({ type: 'other', metrics: { cpuPercent: 99 } }), 'P3'],
    ['service_down of another service', inc({ type: 'service_down', services: ['batch'] }), 'P3'],
    ['response time 5001 ms', inc({ metrics: { responseTimeMs: 5_001 } }), 'P2'],
    ['error rate 6%', inc({ metrics: { errorRate: 6 } }), 'P2'],
    ['nothing notable', inc({ metrics: { errorRate: 1 } }), 'P3'],
  ])('%s → %s', (_name, incident, expected) => {
    expect(classify(incident).severity).toBe(expected);
  });

  test('the deciding rule is named', () => {
    expect(classify(inc({ type: 'database_down' })).reason).toBe('database down');
    expect(classify(inc({})).reason).toMatch(/no rule matched/);
  });

  test('config rules come first: they can raise and lower', () => {
    const extra = [
      severityRule.parse({ severity: 'P0', type: 'payment_failed' }),
      severityRule.parse({ severity: 'P3', label: { env: 'staging' } }),
    ];
    expect(classify(inc({ type: 'payment_failed' }), extra)).toEqual({ severity: 'P0', reason: 'type payment_failed' });
    expect(classify(inc({ type: 'database_down', labels: { env: 'staging' } }), extra).severity).toBe('P3');
    expect(classify(inc({ type: 'database_down', labels: { env: 'prod' } }), extra).severity).toBe('P0');
  });

  test('a rule without a condition, with an unknown severity or field is refused', () => {
    expect(severityRule.safeParse({ severity: 'P1' }).success).toBe(false);
    expect(severityRule.safeParse({ severity: 'P5', type: 'x' }).success).toBe(false);
    expect(severityRule.safeParse({ severity: 'P1', typo: 'x' }).success).toBe(false);
    expect(severityRule.safeParse({ severity: 'P1', metric: 'errorRate' }).success).toBe(false);
    expect(defaultSeverityRules.every((r) => severityRule.safeParse(r).success)).toBe(true);
  });
});

describe('SLA clocks', () => {
  test.each([
    ['P0', 15, 240],
    ['P1', 30, 480],
    ['P2', 120, 1440],
    ['P3', 240, 4320],
  ] as const)('%s: respond %i min, resolve %i min', (sev, respond, resolve) => {
    const opened = new Date('2026-01-01T00:00:00Z');
    const c = slaClocks(sev, opened);
    expect(c.respondMinutes).toBe(respond);
    expect(c.resolveMinutes).toBe(resolve);
    expect(Date.parse(c.respondBy) - opened.getTime()).toBe(respond * 60_000);
    expect(Date.parse(c.resolveBy) - opened.getTime()).toBe(resolve * 60_000);
  });
});

import {
  classify,
  defaultSeverityLabels,
  defaultSeverityRules,
  severityRule,
  slaClocks,
  type Classifiable,
} from '../../src/domain/incident/severity';
import { parseConfigText } from '../../src/config/load';
import { incidentStoreWarning } from '../../src/config/sections/incident';
import { ValidationError } from '../../src/config/errors';

const inc = (over: Partial<Classifiable>): Classifiable => ({
  type: 'other',
  services: [],
  metrics: {},
  labels: {},
  ...over,
});

describe('classify (runbooks §6 table)', () => {
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
    expect(classify(inc({})).reason).toBe('no severity rule matched');
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

describe("Alertmanager's own severity label", () => {
  const labels = defaultSeverityLabels;

  test.each([
    ['critical', 'P1'],
    ['page', 'P1'],
    ['error', 'P2'],
    ['warning', 'P2'],
    ['ticket', 'P3'],
    ['info', 'P3'],
    [' Critical', 'P1'],
  ])('severity=%s → %s, and the label is named as the reason', (value, expected) => {
    expect(classify(inc({ labels: { severity: value } }), [], labels)).toEqual({
      severity: expected,
      reason: `severity label ${JSON.stringify(value)}`,
    });
  });

  test("the runbook's table raises a label further, never lowers it", () => {
    expect(classify(inc({ labels: { severity: 'warning' }, metrics: { errorRate: 60 } }), [], labels)).toEqual({
      severity: 'P0',
      reason: 'error rate > 50% (severity label "warning" says P2)',
    });
    expect(classify(inc({ labels: { severity: 'critical' }, metrics: { errorRate: 6 } }), [], labels)).toEqual({
      severity: 'P1',
      reason: 'severity label "critical"',
    });
  });

  test("the config's rules decide before the label (an operator may lower, e.g. staging)", () => {
    const extra = [severityRule.parse({ severity: 'P3', label: { env: 'staging' } })];
    expect(classify(inc({ labels: { severity: 'critical', env: 'staging' } }), extra, labels).severity).toBe('P3');
    expect(classify(inc({ labels: { severity: 'critical', env: 'prod' } }), extra, labels).severity).toBe('P1');
  });

  test('when neither a rule nor a label decided, the reason says so in one line', () => {
    expect(classify(inc({}), [], labels)).toEqual({
      severity: 'P3',
      reason: 'no severity rule matched and no severity label',
    });
    expect(classify(inc({ labels: { severity: 'sev1' } }), [], labels)).toEqual({
      severity: 'P3',
      reason: 'no severity rule matched and severity label "sev1" is not in incident.severityLabels',
    });
  });

  test('incident.severityLabels adds to and changes the default table; a bad value is refused naming the field', () => {
    const cfg = parseConfigText('incident:\n  severityLabels: { critical: P0, sev1: P0 }\n', 'x.yaml');
    expect(cfg.incident.severityLabels).toEqual({ ...defaultSeverityLabels, critical: 'P0', sev1: 'P0' });
    expect(parseConfigText('{}', 'x.yaml').incident.severityLabels).toEqual(defaultSeverityLabels);
    expect(() => parseConfigText('incident:\n  severityLabels: { critical: P5 }\n', 'x.yaml')).toThrow(
      /incident\.severityLabels\.critical/,
    );
    expect(() => parseConfigText('incident:\n  severityLabels: { Critical: P1 }\n', 'x.yaml')).toThrow(ValidationError);
  });
});

describe('incidents without a store', () => {
  const cfg = (yaml: string) => parseConfigText(yaml, 'x.yaml');

  test('a config that uses incidents without incident.store is warned, naming the field and what is lost', () => {
    const c = cfg('incident:\n  receiver: { token: { env: T } }\n');
    const w = incidentStoreWarning(c.incident, c.schedules);
    expect(w).toMatch(/^incident\.store is not set, though incidents are in use \(incident\.receiver\)/);
    expect(w).toContain('no search across incidents');
    expect(w).toContain('no postmortem table');
    const digest = cfg('schedules:\n  d: { workflow: incidentDigestWorkflow, cron: ["0 9 * * *"] }\n');
    expect(incidentStoreWarning(digest.incident, digest.schedules)).toMatch(/\(schedules\.d\)/);
  });

  test('no warning with a store, nor for a config that does not use incidents', () => {
    expect(incidentStoreWarning(cfg('{}').incident, undefined)).toBeUndefined();
    const stored = cfg(
      'postgres:\n  ops: { database: x }\nincident:\n  store: { postgres: ops }\n  receiver: { token: { env: T } }\n',
    );
    expect(incidentStoreWarning(stored.incident, stored.schedules)).toBeUndefined();
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

import {
  incidentId,
  incidentInput,
  storelessIncidentId,
  type IncidentRecord,
} from '../../src/domain/incident/incident';
import { keptDiagnostics } from '../../src/domain/incident/kept-diagnostics';
import { renderPostmortem, slaVerdict } from '../../src/domain/incident/postmortem';
import { planRunbook, remediationConfig } from '../../src/domain/incident/runbook';
import { slaClocks } from '../../src/domain/incident/severity';
import { parseConfigText } from '../../src/config/load';
import { ValidationError } from '../../src/config/errors';

describe('incident id and input', () => {
  test('INC-YYYYMMDDHHMMSS from a (workflow) time, with a suffix for a second one', () => {
    expect(incidentId(new Date('2026-03-04T05:06:07.890Z'))).toBe('INC-20260304050607');
    expect(incidentId(new Date('2026-03-04T05:06:07.890Z'), 2)).toBe('INC-20260304050607-2');
  });

  test('without a store, two incidents of one second differ by a suffix from their run chain, stable per run', () => {
    const at = new Date('2026-03-04T05:06:07.890Z');
    const a = storelessIncidentId(at, 'incident-a/0190c1a2-7b3c-7def-8000-000000000001');
    const b = storelessIncidentId(at, 'incident-b/0190c1a2-7b3c-7def-8000-000000000002');
    // run ids of one instant share their leading (time) part: the suffix is hashed from all of it
    const c = storelessIncidentId(at, 'incident-a/0190c1a2-7b3c-7def-8000-000000000002');
    expect(new Set([a, b, c]).size).toBe(3);
    for (const id of [a, b, c]) expect(id).toMatch(/^INC-20260304050607-[0-9a-z]{7}$/);
    expect(storelessIncidentId(at, 'incident-a/0190c1a2-7b3c-7def-8000-000000000001')).toBe(a);
  });

  test('bad input names the field', () => {
    const r = incidentInput.safeParse({
      title: '',
      type: 'Service Down',
      services: ['ok', 'bad name'],
      metrics: { errorRate: 'high' },
    });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['title', 'type', 'services.1', 'metrics.errorRate']));
  });
});

describe('runbook per severity and type', () => {
  const cfg = remediationConfig.parse({
    services: { 'web-server': { units: ['nginx', 'app'], health: 'web' } },
    database: { primary: 'db', replica: 'db-replica' },
    preApproved: { restart: true },
  });
  test('P0 service down: restart (pre-approved), database check (needs approve), diagnostics', () => {
    const steps = planRunbook('P0', 'service_down', ['web-server', 'unknown'], cfg);
    expect(steps.map((s) => [s.id, s.needsApproval])).toEqual([
      ['restart-web-server', false],
      ['failover-database', true],
      ['diagnostics', false],
    ]);
  });
  test('backup servers through the LB when configured, waiting for approve unless pre-approved', () => {
    const withLb = remediationConfig.parse({ backupServers: { lb: 'edge', servers: ['spare-1'] } });
    expect(planRunbook('P0', 'other', [], withLb)).toEqual([
      { id: 'activate-backup-servers', kind: 'backup-servers', lb: 'edge', servers: ['spare-1'], needsApproval: true },
      { id: 'diagnostics', kind: 'diagnostics', needsApproval: false },
    ]);
    const pre = remediationConfig.parse({
      backupServers: { lb: 'edge', servers: ['spare-1'] },
      preApproved: { 'backup-servers': true },
    });
    expect(planRunbook('P0', 'other', [], pre)[0].needsApproval).toBe(false);
  });
  test('P1/P2 investigate (diagnostics); P3 does nothing', () => {
    expect(planRunbook('P1', 'high_cpu', ['web-server'], cfg).map((s) => s.kind)).toEqual(['diagnostics']);
    expect(planRunbook('P2', 'slow', [], cfg).map((s) => s.kind)).toEqual(['diagnostics']);
    expect(planRunbook('P3', 'other', ['web-server'], cfg)).toEqual([]);
  });
  test('service_down restarts whatever the severity (but P3); database_down checks the database', () => {
    expect(planRunbook('P2', 'service_down', ['web-server'], cfg).map((s) => s.kind)).toEqual([
      'restart',
      'diagnostics',
    ]);
    expect(planRunbook('P1', 'database_down', [], cfg).map((s) => s.kind)).toEqual(['database', 'diagnostics']);
  });
});

describe('postmortem', () => {
  const openedAt = '2026-01-15T10:00:00.000Z';
  const record: IncidentRecord = {
    id: 'INC-20260115100000',
    workflowId: 'incident-abc',
    title: 'web | down',
    type: 'service_down',
    severity: 'P0',
    severityReason: 'web server down',
    state: 'resolved',
    owner: 'alice',
    services: ['web-server'],
    metrics: { errorRate: 80 },
    labels: {},
    source: 'alertmanager',
    fingerprint: 'abc',
    openedAt,
    acknowledgedAt: '2026-01-15T10:20:00.000Z',
    resolvedAt: '2026-01-15T11:00:00.000Z',
    sla: slaClocks('P0', new Date(openedAt)),
    escalationLevel: 1,
    digest: false,
    timeline: [
      { seq: 0, at: openedAt, kind: 'opened', message: 'opened' },
      { seq: 1, at: openedAt, kind: 'remediation', message: 'restart nginx, app', outcome: 'ok' },
      { seq: 2, at: openedAt, kind: 'remediation', message: 'fail over', outcome: 'skipped' },
    ],
  };
  test('SLA verdicts: acknowledged after 20 min misses 15, resolved in 1 h meets 4 h', () => {
    expect(slaVerdict(record)).toEqual({
      timeToAcknowledgeMinutes: 20,
      timeToResolveMinutes: 60,
      respondMet: false,
      resolveMet: true,
    });
  });
  test('renders timeline, actions with outcomes and SLAs', () => {
    const md = renderPostmortem(record);
    expect(md).toContain('# Postmortem INC-20260115100000: web | down');
    expect(md).toContain('| time to acknowledge | 15 min | 20 min | **missed** |');
    expect(md).toContain('| time to resolve | 4 h | 60 min | met |');
    expect(md).toContain('| restart nginx, app | ok |');
    expect(md).toContain('| fail over | skipped |');
    expect(md).toContain('- errorRate: 80');
  });
});

describe('incident config', () => {
  const parse = (incident: unknown, extra: Record<string, unknown> = {}) =>
    parseConfigText(JSON.stringify({ incident, ...extra }), 'c.json');
  test('an unknown severity rule is refused at load, naming the field', () => {
    expect(() => parse({ severityRules: [{ severity: 'P7', type: 'x' }] })).toThrow(ValidationError);
    expect(() => parse({ severityRules: [{ severity: 'P1', whenever: 'x' }] })).toThrow(/incident\.severityRules\.0/);
    expect(() => parse({ severityRules: [{ severity: 'P1' }] })).toThrow(/at least one condition/);
  });
  test('names must exist: notifiers, roles, postgres and http targets', () => {
    let err: Error | undefined;
    try {
      parse({
        channels: ['nope'],
        escalation: { levels: [{ notify: ['ghost'] }] },
        store: { postgres: 'missing' },
        remediation: { backupServers: { lb: 'no-lb', servers: ['a'] } },
      });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toMatch(/incident\.channels\.0: unknown notifier "nope"/);
    expect(err?.message).toMatch(
      /incident\.escalation\.levels\.0\.notify\.0: "ghost" is neither a role nor a notifier/,
    );
    expect(err?.message).toMatch(/incident\.store\.postgres: unknown postgres target "missing"/);
    expect(err?.message).toMatch(/incident\.remediation\.backupServers\.lb: unknown load balancer "no-lb"/);
  });
  test('defaults follow runbooks §6', () => {
    const c = parse(undefined);
    expect(c.incident.rota.shifts.map((s) => `${s.name} ${s.start}-${s.end}`)).toEqual([
      'day 09:00-18:00',
      'night 18:00-09:00',
    ]);
    expect(c.incident.remediation.preApproved).toEqual({ restart: false, failover: false, 'backup-servers': false });
  });
});

describe('diagnostics kept without a store', () => {
  test('every section is kept, a command by its output, within the bound', () => {
    const text = keptDiagnostics({
      host: { load: [0.5, 0.4, 0.3] },
      'command:tail': { argv: ['tail'], exitCode: 0, output: 'line one\nline two' },
    });
    expect(text).toBe(
      '[host]\n{"load":[0.5,0.4,0.3]}\n[command:tail]\n{"argv":["tail"],"exitCode":0}\nline one\nline two',
    );
    expect(keptDiagnostics({})).toBe('');
  });

  test('a huge log tail is cut visibly to its share and does not crowd out the other sections', () => {
    const text = keptDiagnostics(
      {
        'command:log': { argv: ['cat'], exitCode: 0, output: 'x'.repeat(100_000) },
        'postgres:main': { sessions: [] },
      },
      2000,
    );
    expect(text.length).toBeLessThanOrEqual(2000);
    expect(text).toContain('…[truncated, ');
    expect(text).toContain('[postgres:main]\n{"sessions":[]}');
  });
});

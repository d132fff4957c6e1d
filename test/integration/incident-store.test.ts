import { Client } from 'pg';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { incidentStoreActivities, type IncidentSnapshot } from '../../src/activities/incident-store';
import { findIncident, listIncidents, migrate, storeRef } from '../../src/activities/incident-store/store';
import { diagnosticsActivities, type DiagnosticsSummary } from '../../src/activities/diagnostics';
import { parseConfigText } from '../../src/config/load';
import { slaClocks } from '../../src/domain/incident/severity';
import { pgConnection, requirePostgres } from '../helpers/services';

/** The incident tables in the machine's PostgreSQL, in a schema of this test's own. */
describe('incident store (PostgreSQL)', () => {
  const schema = `opsflow_test_store_${process.pid}_${Date.now() % 100000}`;
  let pg: Client;
  const config = parseConfigText(
    JSON.stringify({
      postgres: { main: pgConnection },
      incident: {
        store: { postgres: 'main', schema },
        remediation: {
          diagnostics: { host: false, commands: { echo: ['echo', 'hello'], bad: ['false'] }, postgres: 'main' },
        },
      },
    }),
    'test.json',
  );
  const acts = incidentStoreActivities(config);
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

  beforeAll(async () => {
    await requirePostgres();
    pg = new Client(pgConnection);
    await pg.connect();
  });
  afterAll(async () => {
    await pg?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await pg?.end();
  });

  const openedAt = '2026-02-03T04:05:06.000Z';
  const snapshot = (workflowId: string): IncidentSnapshot => ({
    id: 'INC-20260203040506',
    workflowId,
    title: 'web down',
    type: 'service_down',
    severity: 'P0',
    severityReason: 'web server down',
    state: 'open',
    services: ['web-server'],
    metrics: { errorRate: 70 },
    labels: { env: 'prod' },
    source: 'api',
    openedAt,
    sla: slaClocks('P0', new Date(openedAt)),
    escalationLevel: 0,
    digest: false,
  });

  test('migrations are idempotent and recorded', async () => {
    const ref = storeRef(config);
    const c = new Client(ref.config);
    await c.connect();
    try {
      const first = await migrate(c, schema);
      const second = await migrate(c, schema);
      expect(first).toEqual(['001_incidents', '002_digest_sent', '003_alert_evidence']);
      expect(second).toEqual([]);
    } finally {
      await c.end();
    }
  });

  test('ids: the same run gets its id back on a retry; another incident in the same second gets -2', async () => {
    const a = await acts.reserveIncidentId({
      openedAt,
      workflowId: 'incident-a',
      runId: 'run-a',
      incident: snapshot('incident-a'),
    });
    const again = await acts.reserveIncidentId({
      openedAt,
      workflowId: 'incident-a',
      runId: 'run-a',
      incident: snapshot('incident-a'),
    });
    const b = await acts.reserveIncidentId({
      openedAt,
      workflowId: 'incident-b',
      runId: 'run-b',
      incident: snapshot('incident-b'),
    });
    expect([a, again, b]).toEqual(['INC-20260203040506', 'INC-20260203040506', 'INC-20260203040506-2']);
  });

  test('the alert evidence is stored whole with the reserved id and read back', async () => {
    const alert = {
      labels: { alertname: 'X', runbook: 'r'.repeat(5000) },
      annotations: { description: 'd'.repeat(10_000) },
      startsAt: openedAt,
    };
    await acts.reserveIncidentId({
      openedAt,
      workflowId: 'incident-c',
      runId: 'run-c',
      incident: snapshot('incident-c'),
      alert,
    });
    expect((await findIncident(storeRef(config), 'incident-c'))!.alert).toEqual(alert);
    expect((await findIncident(storeRef(config), 'incident-a'))!.alert).toBeUndefined();
  });

  test('saving twice (a retry) leaves one row and one event per seq; another run cannot overwrite the row', async () => {
    const incident = {
      ...snapshot('incident-a'),
      state: 'acknowledged' as const,
      owner: 'alice',
      acknowledgedAt: '2026-02-03T04:10:00.000Z',
    };
    const events = [
      { seq: 0, at: openedAt, kind: 'opened' as const, message: 'opened' },
      { seq: 1, at: openedAt, kind: 'acknowledged' as const, message: 'acknowledged by alice', by: 'alice' },
    ];
    await acts.saveIncident({ incident, runId: 'run-a', events });
    await acts.saveIncident({ incident, runId: 'run-a', events });
    const found = await findIncident(storeRef(config), 'incident-a');
    expect(found).toMatchObject({
      id: 'INC-20260203040506',
      state: 'acknowledged',
      owner: 'alice',
      metrics: { errorRate: 70 },
    });
    expect(found!.timeline.map((e) => [e.seq, e.kind, e.by])).toEqual([
      [0, 'opened', undefined],
      [1, 'acknowledged', 'alice'],
    ]);
    expect(found!.sla.respondMinutes).toBe(15);
    const taken = await acts.saveIncident({ incident, runId: 'run-other', events: [] }).catch((e) => e);
    expect(taken.nonRetryable).toBe(true);
    expect(taken.message).toMatch(/belongs to another run/);
    const listed = await listIncidents(storeRef(config), { state: 'acknowledged', limit: 10 });
    expect(listed.map((r) => r.id)).toEqual(['INC-20260203040506']);
  });

  test('diagnostics land in the incident record, section by section', async () => {
    const d: DiagnosticsSummary = await env.run(() =>
      diagnosticsActivities(config).collectDiagnostics({ incidentId: 'INC-20260203040506' }),
    );
    expect(d.sections).toEqual(['command:echo', 'command:bad', 'postgres:main']);
    expect(d.failed).toEqual(['command:bad']);
    const row = await pg.query(`SELECT diagnostics FROM "${schema}".incidents WHERE id = 'INC-20260203040506'`);
    const diag = row.rows[0].diagnostics;
    expect(diag['command:echo']).toMatchObject({ exitCode: 0, output: 'hello\n' });
    expect(diag['command:bad'].exitCode).toBe(1);
    expect(Array.isArray(diag['postgres:main'].sessions)).toBe(true);
    // the shared server has no pg_stat_statements (postgres-diagnostics.test.ts covers a cluster with it)
    expect(diag['postgres:main'].slowStatements).toBe(
      `pg_stat_statements is not available: the extension is not created in database ${pgConnection.database} (CREATE EXTENSION pg_stat_statements)`,
    );
  });

  test('no store configured: a non-retryable error that names the setting', async () => {
    const bare = incidentStoreActivities(parseConfigText('{}', 'bare.json'));
    const err = await bare.saveIncident({ incident: snapshot('x'), runId: 'r', events: [] }).catch((e) => e);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/config\.incident\.store is not set/);
  });
});

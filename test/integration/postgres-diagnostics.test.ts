import { Client } from 'pg';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { diagnosticsActivities } from '../../src/activities/diagnostics';
import { incidentStoreActivities } from '../../src/activities/incident-store';
import { findIncident, storeRef } from '../../src/activities/incident-store/store';
import { parseConfigText } from '../../src/config/load';
import { slaClocks } from '../../src/domain/incident/severity';
import { PgCluster } from '../helpers/pg-cluster';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, requirePostgres } from '../helpers/services';

/**
 * The PostgreSQL part of the incident diagnostics against a cluster of our own with
 * pg_stat_statements preloaded (the shared one has no such setting): a really slow statement is
 * reported with its mean time; without the extension the record says why instead of an empty list.
 */
describe('postgres diagnostics: slow statements from pg_stat_statements', () => {
  const cluster = new PgCluster({ shared_preload_libraries: 'pg_stat_statements' });
  const scratch = new PgScratch('opsflow_test_diag');
  const schema = 'opsflow_diag';
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  let sharedWithExtension = '';

  const configFor = (target: object) =>
    parseConfigText(
      JSON.stringify({
        postgres: { store: cluster.connection, target },
        incident: { store: { postgres: 'store', schema }, remediation: { diagnostics: { host: false, postgres: 'target' } } },
      }),
      'diag.json',
    );

  /** Opens an incident in the store and collects diagnostics of `target` into it; returns the postgres section. */
  async function diagnose(target: object, workflowId: string) {
    const config = configFor(target);
    const openedAt = new Date().toISOString();
    const id = await incidentStoreActivities(config).reserveIncidentId({
      openedAt,
      workflowId,
      runId: 'run-1',
      incident: {
        id: '',
        workflowId,
        title: 'db slow',
        type: 'database',
        severity: 'P1',
        severityReason: 'slow queries',
        state: 'open',
        services: ['db'],
        metrics: {},
        labels: {},
        source: 'api',
        openedAt,
        sla: slaClocks('P1', new Date(openedAt)),
        escalationLevel: 0,
        digest: false,
      },
    });
    const summary = await env.run(() => diagnosticsActivities(config).collectDiagnostics({ incidentId: id }));
    expect(summary).toEqual({ sections: ['postgres:target'], failed: [] });
    const stored = await findIncident(storeRef(config), workflowId);
    return stored!.diagnostics['postgres:target'] as { slowStatements: unknown };
  }

  beforeAll(async () => {
    await requirePostgres();
    await cluster.start();
    const c = new Client(cluster.connection);
    await c.connect();
    try {
      await c.query('CREATE EXTENSION pg_stat_statements');
      await c.query('CREATE DATABASE bare');
      // three calls of one statement that really takes 150 ms, and a fast one
      for (let i = 0; i < 3; i++) await c.query('SELECT pg_sleep(0.15)');
      await c.query(`SELECT count(*) AS fast_marker FROM pg_class`);
    } finally {
      await c.end();
    }
    // the shared server does not preload the library: the extension can be created, not read
    sharedWithExtension = await scratch.database();
    await scratch.query('CREATE EXTENSION pg_stat_statements', [], sharedWithExtension);
  });

  afterAll(async () => {
    await scratch.drop();
    cluster.stop();
  });

  test('a really slow statement is reported with its calls and a mean time over 100 ms; a fast one is not', async () => {
    const section = await diagnose(cluster.connection, 'incident-diag-slow');
    expect(Array.isArray(section.slowStatements)).toBe(true);
    const slow = section.slowStatements as { query: string; calls: number; mean_ms: number }[];
    const sleep = slow.filter((s) => /pg_sleep/.test(s.query));
    expect(sleep).toHaveLength(1);
    expect(sleep[0].calls).toBe(3);
    expect(sleep[0].mean_ms).toBeGreaterThan(100);
    expect(slow.some((s) => /fast_marker/.test(s.query))).toBe(false);
  });

  test('the extension not created in the database: a sentence saying so and how, not an empty list', async () => {
    const section = await diagnose({ ...cluster.connection, database: 'bare' }, 'incident-diag-bare');
    expect(section.slowStatements).toBe('pg_stat_statements is not available: the extension is not created in database bare (CREATE EXTENSION pg_stat_statements)');
  });

  test('the extension created but its library not preloaded: the server says why, and the section does not fail', async () => {
    const section = await diagnose({ ...pgConnection, database: sharedWithExtension }, 'incident-diag-not-loaded');
    expect(section.slowStatements).toBe('pg_stat_statements is not available: pg_stat_statements must be loaded via shared_preload_libraries');
  });
});

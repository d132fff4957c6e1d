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
import { waitFor } from '../helpers/ports';

/**
 * The PostgreSQL part of the incident diagnostics against a cluster of our own with
 * pg_stat_statements preloaded (the shared one has no such setting): a really slow statement is
 * reported with its mean time; without the extension the record says why instead of an empty list.
 * Indexes scanned a known number of times (150, 100, 99, never) show where "unused" begins.
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
        incident: {
          store: { postgres: 'store', schema },
          remediation: { diagnostics: { host: false, postgres: 'target' } },
        },
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

  test('unused indexes: exactly those with fewer than 100 scans, never one that enforces uniqueness', async () => {
    const c = new Client({ ...cluster.connection, database: 'bare' });
    await c.connect();
    try {
      await c.query('CREATE TABLE diag_usage (id int PRIMARY KEY, hot int, warm int, cool int, cold int)');
      await c.query('INSERT INTO diag_usage SELECT g, g, g, g, g FROM generate_series(1, 2000) g');
      for (const col of ['hot', 'warm', 'cool', 'cold'])
        await c.query(`CREATE INDEX diag_usage_${col} ON diag_usage (${col})`);
      await c.query('ANALYZE diag_usage');
      // One plain index scan per lookup, so each index's scan count is exactly the lookups made.
      await c.query('SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off');
      const lookups = { hot: 150, warm: 100, cool: 99 };
      for (const [col, n] of Object.entries(lookups))
        for (let i = 1; i <= n; i++) await c.query(`SELECT * FROM diag_usage WHERE ${col} = $1`, [i]);
    } finally {
      await c.end(); // a session's statistics reach the shared counters when it ends
    }
    const scans = async () => {
      const r = new Client({ ...cluster.connection, database: 'bare' });
      await r.connect();
      try {
        const rows = (
          await r.query(
            `SELECT indexrelname AS name, idx_scan::int AS n FROM pg_stat_user_indexes WHERE relname = 'diag_usage'`,
          )
        ).rows;
        return Object.fromEntries(rows.map((x) => [x.name, x.n]));
      } finally {
        await r.end();
      }
    };
    const counted = await waitFor(
      'index scans counted',
      async () => {
        const s = await scans();
        return s.diag_usage_hot === 150 && s.diag_usage_warm === 100 && s.diag_usage_cool === 99 ? s : undefined;
      },
      30_000,
      200,
    );
    expect(counted).toEqual({
      diag_usage_pkey: 0,
      diag_usage_hot: 150,
      diag_usage_warm: 100,
      diag_usage_cool: 99,
      diag_usage_cold: 0,
    });

    const section = (await diagnose(
      { ...cluster.connection, database: 'bare' },
      'incident-diag-indexes',
    )) as unknown as { unusedIndexes: { index: string; table: string; scans: number }[]; indexes: { index: string }[] };
    expect(
      section.indexes
        .map((i) => i.index)
        .filter((i) => i.startsWith('public.diag_usage'))
        .sort(),
    ).toEqual([
      'public.diag_usage_cold',
      'public.diag_usage_cool',
      'public.diag_usage_hot',
      'public.diag_usage_pkey',
      'public.diag_usage_warm',
    ]);
    expect(
      section.unusedIndexes
        .filter((i) => i.table === 'public.diag_usage')
        .sort((a, b) => a.index.localeCompare(b.index)),
    ).toEqual([
      expect.objectContaining({ index: 'public.diag_usage_cold', scans: 0 }),
      expect.objectContaining({ index: 'public.diag_usage_cool', scans: 99 }),
    ]);
  });

  test('the extension not created in the database: a sentence saying so and how, not an empty list', async () => {
    const section = await diagnose({ ...cluster.connection, database: 'bare' }, 'incident-diag-bare');
    expect(section.slowStatements).toBe(
      'pg_stat_statements is not available: the extension is not created in database bare (CREATE EXTENSION pg_stat_statements)',
    );
  });

  test('the extension created but its library not preloaded: the server says why, and the section does not fail', async () => {
    const section = await diagnose({ ...pgConnection, database: sharedWithExtension }, 'incident-diag-not-loaded');
    expect(section.slowStatements).toBe(
      'pg_stat_statements is not available: pg_stat_statements must be loaded via shared_preload_libraries',
    );
  });
});

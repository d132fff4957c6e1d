import { Client } from 'pg';
import { WorkflowFailedError } from '@temporalio/client';
import { Stack } from '../helpers/stack';
import { PgCluster } from '../helpers/pg-cluster';
import { requirePostgres } from '../helpers/services';
import { recordHistory } from '../helpers/histories';
import { diagnosticsWorkflow } from '../../src/workflows';
import { statusQuery } from '../../src/workflows/diagnostics/messages';

/**
 * runbooks §9 diagnostics as a workflow, end to end: the dev server, an opsflow worker, and a
 * PostgreSQL cluster of our own with pg_stat_statements preloaded, holding a statement that really
 * takes 150 ms and an index nothing has used. The report must name both.
 */
describe('diagnosticsWorkflow end to end', () => {
  const cluster = new PgCluster({ shared_preload_libraries: 'pg_stat_statements' });
  let stack: Stack;

  beforeAll(async () => {
    await requirePostgres();
    await cluster.start();
    const c = new Client(cluster.connection);
    await c.connect();
    try {
      await c.query('CREATE EXTENSION pg_stat_statements');
      await c.query('CREATE TABLE diag_orders (id int PRIMARY KEY, customer int NOT NULL, note text)');
      await c.query(`INSERT INTO diag_orders SELECT g, g % 100, repeat('x', 50) FROM generate_series(1, 20000) g`);
      await c.query('CREATE INDEX diag_orders_customer_unused ON diag_orders (customer)');
      await c.query('ANALYZE diag_orders');
      for (let i = 0; i < 2; i++) await c.query('SELECT pg_sleep(0.15) AS diag_slow_marker');
    } finally {
      await c.end();
    }
    stack = await Stack.start();
    await stack.startWorker({
      postgres: { app: cluster.connection, down: { ...cluster.connection, port: 1, connectTimeoutMs: 500 } },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    cluster.stop();
  });

  test('the report names the slow statement and the unused index; the status query says done', async () => {
    const handle = await stack.client.workflow.start(diagnosticsWorkflow, {
      taskQueue: 'opsflow',
      workflowId: 'diagnostics-e2e-app',
      args: [{ postgres: 'app' }],
    });
    const result = await handle.result();

    expect(result.postgres?.ok).toBe(true);
    const pg = result.postgres!.ok ? result.postgres!.findings : undefined;
    const slow = pg!.slowStatements as { query: string; calls: number; mean_ms: number }[];
    expect(slow.filter((s) => /diag_slow_marker/.test(s.query)).map((s) => s.calls)).toEqual([2]);
    expect(pg!.unusedIndexes.map((i) => i.index)).toEqual(['public.diag_orders_customer_unused']);
    expect(pg!.tables.find((t) => t.table === 'public.diag_orders')).toMatchObject({ rows: 20000 });
    expect(pg!.tables.find((t) => t.table === 'public.diag_orders')!.index_bytes).toBeGreaterThan(0);
    expect(result.host?.ok).toBe(true);
    expect(result.host!.ok && result.host!.findings.topProcesses.length).toBeGreaterThan(0);

    // A row of the table, wherever it sorts: on a loaded machine the set-up's own statements (the
    // 20 000-row insert, the index build) may be slower than 150 ms and come first.
    expect(result.markdown).toMatch(
      /### Slow statements \(mean > 100 ms, top 10\) in postgres\n\n\| mean \| calls \| query \|\n\|---\|---\|---\|\n(\| .* \|\n)*\| \d+(\.\d)? ms \| 2 \| SELECT pg_sleep\(\$1\) AS diag_slow_marker \|\n/,
    );
    expect(result.markdown).toMatch(
      /### Unused indexes \(fewer than 100 scans\)\n\n\| index \| table \| scans \| size \|\n\|---\|---\|---\|---\|\n\| public\.diag_orders_customer_unused \| public\.diag_orders \| 0 \| /,
    );
    expect(result.markdown).toContain('## Host');

    expect(await handle.query(statusQuery)).toMatchObject({
      phase: 'done',
      collected: { 'postgres:app': 'ok', host: 'ok' },
    });
    recordHistory(stack.temporalAddress(), 'diagnostics-e2e-app', 'diagnostics-postgres-and-host');
  });

  test('a target that cannot be reached: its section says why, the host part still comes', async () => {
    const result = await stack.client.workflow.execute(diagnosticsWorkflow, {
      taskQueue: 'opsflow',
      workflowId: 'diagnostics-e2e-down',
      args: [{ postgres: 'down' }],
    });
    expect(result.postgres).toMatchObject({ target: 'down', ok: false });
    expect(!result.postgres!.ok && result.postgres!.error).toMatch(/ECONNREFUSED 127\.0\.0\.1:1/);
    expect(result.markdown).toMatch(/## PostgreSQL down\n\n\*\*Could not be collected:\*\* .*ECONNREFUSED/);
    expect(result.host?.ok).toBe(true);
  });

  test('a target the worker config lacks fails the run naming it', async () => {
    const run = stack.client.workflow.execute(diagnosticsWorkflow, {
      taskQueue: 'opsflow',
      workflowId: 'diagnostics-e2e-unknown',
      args: [{ postgres: 'nope', host: false }],
    });
    const err = await run.catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause?.message).toBe(
      'diagnostics failed: unknown postgres target "nope" (postgres)',
    );
  });
});

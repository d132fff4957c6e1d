import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack, writeConfig, killWorker } from '../helpers/stack';
import { SmtpReceiver } from '../helpers/smtp-receiver';
import { PgScratch } from '../helpers/pg-scratch';
import { waitFor } from '../helpers/ports';
import { pgConnection, requirePostgres } from '../helpers/services';
import { PgCluster } from '../helpers/pg-cluster';
import { HEARTBEAT_TIMEOUT, retriedAttempts } from '../helpers/retries';
import { dailyReportConfig, journalctlStandIn } from '../helpers/report-fixtures';
import { dailyReportWorkflow, diagnosticsWorkflow } from '../../src/workflows';

/**
 * The daily report and diagnostics survive their worker: SIGKILLed in the middle of gathering,
 * another worker finishes the run; the report is mailed and stored exactly once, though the mail
 * server refused connections for a while when it was sent. Both also survive the Temporal server
 * killed -9 and restarted on its SQLite file while no worker runs. Diagnostics of a PostgreSQL that
 * refuses connections for a burst (a cluster of the test's own, stopped and started again) retry
 * and return the whole findings.
 */
describe('daily report and diagnostics survive worker SIGKILL (dev server)', () => {
  const scratch = new PgScratch('opsflow_test_report_crash');
  const smtp = new SmtpReceiver();
  const dir = mkdtempSync(join(tmpdir(), 'opsflow-report-crash-'));
  // A stand-in journalctl that takes 4 s: the worker is killed while it runs.
  const journalctl = journalctlStandIn(dir, { seconds: 4 });
  let stack: Stack;
  let configPath: string;
  let schema: string;
  const cluster = new PgCluster();

  beforeAll(async () => {
    await requirePostgres();
    await cluster.start();
    schema = await scratch.schema();
    await smtp.start();
    configPath = writeConfig({
      postgres: { primary: pgConnection, own: cluster.connection },
      ...dailyReportConfig({ journalctl: journalctl.path, smtpPort: smtp.port, target: 'primary', schema }),
    });
    stack = await Stack.start({ persistent: true });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await smtp.stop();
    await scratch.drop();
    cluster.stop();
  });

  const startWorker = () => stack.spawnWorkerProcess(configPath);

  test('daily report: SIGKILL while the journal is read, server kill -9, mail server refusing connections; another worker finishes it, mailed and stored once', async () => {
    let worker = startWorker();
    const handle = await stack.client.workflow.start(dailyReportWorkflow, {
      taskQueue: 'opsflow',
      workflowId: 'daily-report-crash',
      args: [{}],
    });
    await waitFor('the journal being read', () => journalctl.calls() > 0, 60_000, 100);
    await killWorker(worker.child);
    expect(smtp.messages).toHaveLength(0);
    await stack.restartServer();
    // The mail server goes away: the send is refused (connection refused) and retried until it is back.
    const smtpPort = smtp.port;
    await smtp.stop();

    worker = startWorker();
    try {
      await waitFor(
        'the report mail retried',
        async () =>
          ((await handle.describe()).raw.pendingActivities ?? []).some(
            (a) => a.activityType?.name === 'notify' && (a.attempt ?? 1) >= 2,
          ),
        120_000,
        250,
      );
      await smtp.start(smtpPort);
      const result = await handle.result();
      expect(journalctl.calls()).toBeGreaterThanOrEqual(2);
      expect(result.gathered).toMatchObject({ errors: 'ok', 'postgres:primary': 'ok' });
      expect(result.stored).toBe(true);
      expect(result.sent).toEqual(['mail']);
      expect(smtp.messages).toHaveLength(1);
      expect(JSON.stringify(smtp.messages[0])).toContain('upstream connect error');
      // The killed worker's steps were retried after a heartbeat timeout (seconds), not start-to-close.
      const retried = await retriedAttempts(handle);
      const gathering = retried.filter((r) => r.activityType !== 'notify');
      expect(gathering.length).toBeGreaterThan(0);
      expect(gathering.every((r) => r.timeoutType === HEARTBEAT_TIMEOUT)).toBe(true);
      expect(retried.filter((r) => r.activityType === 'notify').length).toBeGreaterThan(0);
      const stored = await scratch.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${schema}.opsflow_daily_reports`,
      );
      expect(stored[0].n).toBe(1);
    } finally {
      await killWorker(worker.child);
    }
  }, 180_000);

  test('diagnostics: SIGKILL with its first step in flight, server kill -9; another worker returns the whole findings', async () => {
    let worker = startWorker();
    const handle = await stack.client.workflow.start(diagnosticsWorkflow, {
      taskQueue: 'opsflow',
      workflowId: 'diagnostics-crash',
      args: [{ postgres: 'primary', host: true }],
    });
    await waitFor(
      'a diagnostics step in flight',
      async () => ((await handle.describe()).raw.pendingActivities?.length ?? 0) > 0,
      60_000,
      50,
    );
    await killWorker(worker.child);
    await stack.restartServer();

    worker = startWorker();
    try {
      const result = await handle.result();
      expect(result.markdown).toMatch(/PostgreSQL primary/);
      expect(result.postgres).toMatchObject({ target: 'primary', ok: true });
      expect(result.host).toMatchObject({ ok: true });
      const retried = await retriedAttempts(handle);
      expect(retried.length).toBeGreaterThan(0);
      expect(retried.every((r) => r.timeoutType === HEARTBEAT_TIMEOUT)).toBe(true);
    } finally {
      await killWorker(worker.child);
    }
  }, 180_000);

  test('diagnostics of a PostgreSQL down for a burst (connections refused): the step retried, the whole findings returned', async () => {
    cluster.halt();
    const worker = startWorker();
    let resumed = false;
    try {
      const handle = await stack.client.workflow.start(diagnosticsWorkflow, {
        taskQueue: 'opsflow',
        workflowId: 'diagnostics-refused',
        args: [{ postgres: 'own' }],
      });
      // Held down until the PostgreSQL step has failed against it (refused) and waits for its retry.
      const pending = await waitFor(
        'the PostgreSQL step retried',
        async () =>
          ((await handle.describe()).raw.pendingActivities ?? []).find(
            (a) => a.activityType?.name === 'diagnosePostgres' && (a.attempt ?? 1) >= 2,
          ),
        60_000,
        50,
      );
      expect(await stack.failureMessage(pending.lastFailure)).toMatch(/ECONNREFUSED/);
      cluster.resume();
      resumed = true;
      const result = await handle.result();
      expect(result.postgres).toMatchObject({ target: 'own', ok: true });
      expect(result.markdown).toMatch(/PostgreSQL own/);
      // one step, scheduled once: its refused attempts are retries of it
      const scheduled = ((await handle.fetchHistory()).events ?? []).filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'diagnosePostgres',
      );
      expect(scheduled).toHaveLength(1);
    } finally {
      if (!resumed) cluster.resume();
      await killWorker(worker.child);
    }
  }, 180_000);
});

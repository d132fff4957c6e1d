import { Client as PgClient } from 'pg';
import { Stack, writeConfig, killWorker } from '../helpers/stack';
import { HttpReceiver, type ReceivedRequest } from '../helpers/http-receiver';
import { waitFor } from '../helpers/ports';
import { pgConnection, requirePostgres } from '../helpers/services';
import { recordHistory } from '../helpers/histories';
import { acknowledgeSignal, resolveSignal, statusQuery } from '../../src/workflows/incident/messages';

/**
 * The incident workflows survive their worker and their Temporal server: the worker SIGKILLed after
 * the incident was opened and notified, and again before it is resolved, with the acknowledgement
 * and the resolution sent while no worker runs; the server killed -9 and restarted on its SQLite
 * file while the incident waits acknowledged; the receivers down (503) for a burst when the
 * resolution is sent. Every receiver takes one message per event (none re-sent by a new worker,
 * none lost to the outage), and the record and postmortem land in PostgreSQL. The P3 digest runs
 * on the same stack.
 */
describe('incident response survives worker SIGKILL (dev server, real PostgreSQL and receivers)', () => {
  let stack: Stack;
  let pg: PgClient;
  let configPath: string;
  const schema = `opsflow_test_crash_${process.pid}_${Date.now() % 100000}`;
  const oncall = new HttpReceiver({ honourKey: true });
  const engineers = new HttpReceiver({ honourKey: true });

  beforeAll(async () => {
    await requirePostgres();
    pg = new PgClient(pgConnection);
    await pg.connect();
    await Promise.all([oncall.start(), engineers.start()]);
    configPath = writeConfig({
      postgres: { main: { ...pgConnection } },
      notifiers: {
        'oncall-hook': { type: 'webhook', url: `${oncall.url}/hook` },
        'eng-hook': { type: 'webhook', url: `${engineers.url}/hook` },
      },
      incident: {
        store: { postgres: 'main', schema },
        contacts: { engineers: ['eng-hook'] },
        channels: [],
        // Two shifts that cover the whole day, so "now" always has someone on call.
        rota: {
          timezone: 'UTC',
          shifts: [
            { name: 'am', start: '00:00', end: '12:00', oncall: 'dave', notify: ['oncall-hook'] },
            { name: 'pm', start: '12:00', end: '00:00', oncall: 'erin', notify: ['oncall-hook'] },
          ],
        },
        digestNotify: ['engineers'],
      },
    });
    stack = await Stack.start({ persistent: true });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([oncall.stop(), engineers.stop()]);
    await pg?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await pg?.end();
  });

  const startWorker = () => stack.spawnWorkerProcess(configPath);
  /** The event each message was sent for, from its idempotency key (`<workflow>/<run>/<event>/<notifier>`). */
  const events = (reqs: ReceivedRequest[]) => reqs.map((r) => String(r.headers['idempotency-key'] ?? '').split('/')[2]);

  test('SIGKILL after opening and before resolving, server kill -9 while acknowledged, receivers 503 at the resolution: resolved anyway, one message per event, postmortem stored', async () => {
    const workflowId = 'incident-crash-1';
    let worker = startWorker();
    const handle = await stack.client.workflow.start('incidentResponseWorkflow', {
      taskQueue: 'opsflow',
      workflowId,
      args: [{ title: 'checkout slow', type: 'latency', services: ['web-server'], metrics: { responseTimeMs: 6000 } }],
    });
    const status = () => handle.query(statusQuery);
    await waitFor(
      'opened and notified',
      async () => oncall.requests.length === 1 && engineers.requests.length === 1,
      60_000,
      250,
    );
    const opened = await status();
    expect(opened.severity).toBe('P2');
    expect(opened.state).toBe('open');
    await killWorker(worker.child);

    // Sent while no worker runs: signals are history events, so neither is lost.
    await handle.signal(acknowledgeSignal, { by: 'erin' });
    worker = startWorker();
    await waitFor('acknowledged', async () => (await status()).state === 'acknowledged', 60_000, 250);
    // Temporal itself dies while the incident waits; the same worker carries on against the restarted server.
    await stack.restartServer();
    await waitFor('acknowledged after the restart', async () => (await status()).state === 'acknowledged', 60_000, 250);
    expect(worker.child.exitCode).toBeNull();
    await killWorker(worker.child);
    // Both receivers are down for a burst when the resolution goes out: the sends are retried, not lost.
    oncall.failNext(2);
    engineers.failNext(2);
    await handle.signal(resolveSignal, { by: 'erin' });
    worker = startWorker();
    // A step that was running on the killed worker (diagnostics) heartbeats, so the new worker
    // retries it within seconds instead of the run waiting out its start-to-close timeout.
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      handle.result(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(async () => {
          const pending = (await handle.describe()).raw.pendingActivities?.map(
            (a) => `${a.activityType?.name} attempt ${a.attempt}`,
          );
          reject(
            new Error(`no result 60 s after resolve; pending: ${pending?.join(', ')}\n${worker.output().slice(-2000)}`),
          );
        }, 60_000);
      }),
    ]).finally(() => clearTimeout(timer));
    await killWorker(worker.child);

    expect(result).toMatchObject({ severity: 'P2', state: 'resolved', postmortemStored: true });
    // Each receiver saw each event exactly once: the new workers did not send "opened" again.
    expect(events(oncall.requests)).toEqual(['opened', 'resolved']);
    expect(events(engineers.requests)).toEqual(['opened', 'resolved']);
    // Counted at delivery, duplicates included: each event taken once, after the two refused sends.
    expect(events(oncall.accepted)).toEqual(['opened', 'resolved']);
    expect(events(engineers.accepted)).toEqual(['opened', 'resolved']);
    expect(events(oncall.attempts.filter((r) => !oncall.accepted.includes(r)))).toEqual(['resolved', 'resolved']);
    const row = await pg.query(
      `SELECT state, severity, owner, acknowledged_at, diagnostics, postmortem FROM "${schema}".incidents WHERE workflow_id = $1`,
      [workflowId],
    );
    expect(row.rows).toHaveLength(1);
    expect(row.rows[0]).toMatchObject({ state: 'resolved', severity: 'P2', owner: 'erin' });
    expect(row.rows[0].acknowledged_at).not.toBeNull();
    // the diagnostics step that was running when the first worker died was finished by another
    expect(Object.keys(row.rows[0].diagnostics)).toEqual(expect.arrayContaining(['collectedAt', 'host']));
    expect(row.rows[0].postmortem).toMatch(/checkout slow/);
    recordHistory(stack.temporalAddress(), workflowId, 'incident-p2-worker-killed');
  });

  test('the P3 digest lists the P3 incidents not yet reported to the engineers, once, and marks them', async () => {
    const worker = startWorker();
    try {
      const p3 = await stack.client.workflow.start('incidentResponseWorkflow', {
        taskQueue: 'opsflow',
        workflowId: 'incident-crash-p3',
        args: [{ title: 'disk 70% on batch-1', type: 'disk', severity: 'P3' }],
      });
      await waitFor(
        'P3 recorded for the digest',
        async () => (await p3.query(statusQuery)).timeline.some((e) => e.kind === 'classified'),
        120_000,
        250,
      );
      await p3.signal(resolveSignal, { by: 'erin' });
      await p3.result();
      const before = engineers.requests.length;
      const digest = await stack.client.workflow.execute('incidentDigestWorkflow', {
        taskQueue: 'opsflow',
        workflowId: 'incident-digest-crash',
        args: [{}],
      });
      expect(digest.notified).toEqual(['eng-hook']);
      expect(digest.incidents).toHaveLength(1);
      const sent = engineers.requests.slice(before);
      expect(sent).toHaveLength(1);
      expect(sent[0].json.text).toMatch(/disk 70% on batch-1/);
      const again = await stack.client.workflow.execute('incidentDigestWorkflow', {
        taskQueue: 'opsflow',
        workflowId: 'incident-digest-crash-2',
        args: [{}],
      });
      expect(again.incidents).toEqual([]);
      recordHistory(stack.temporalAddress(), 'incident-digest-crash', 'incident-digest-p3');
    } finally {
      await killWorker(worker.child);
    }
  });
});

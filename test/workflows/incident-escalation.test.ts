import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import { Worker } from '@temporalio/worker';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { HttpReceiver, type ReceivedRequest } from '../helpers/http-receiver';
import { pgConnection, requirePostgres } from '../helpers/services';
import { waitFor } from '../helpers/ports';
import { recordHistory } from '../helpers/histories';
import { createActivities } from '../../src/activities';
import { parseConfigText } from '../../src/config/load';
import { incidentDigestWorkflow, incidentResponseWorkflow } from '../../src/workflows/incident';
import { OpsflowState } from '../../src/domain/search-attributes';
import {
  acknowledgeSignal,
  approveSignal,
  escalateSignal,
  noteSignal,
  resolveSignal,
  statusQuery,
} from '../../src/workflows/incident/messages';

/**
 * incidentResponseWorkflow on the time-skipping server with the real activities: messages go to
 * local HTTP receivers, incidents to PostgreSQL. Hours of SLA clocks pass in `env.sleep`.
 */
describe('incidentResponseWorkflow: escalation, approval, P3 (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  const schema = `opsflow_test_inc_${process.pid}_${Date.now() % 100000}`;
  const dir = mkdtempSync(join(tmpdir(), 'opsflow-inc-'));
  const oncall = new HttpReceiver({ failFirst: 1, honourKey: true });
  const lead = new HttpReceiver({ honourKey: true });
  const cto = new HttpReceiver({ honourKey: true });
  const slack = new HttpReceiver();
  const pd = new HttpReceiver({
    okStatus: 202,
    honourKey: (r) => r.json && `${r.json.dedup_key}/${r.json.event_action}`,
  });
  const receivers = [oncall, lead, cto, slack, pd];
  let pg: Client;
  const workers: { worker: Worker; running: Promise<void> }[] = [];

  function config(remediation: unknown, extraPostgres: Record<string, unknown> = {}) {
    return {
      postgres: { store: { ...pgConnection }, ...extraPostgres },
      notifiers: {
        oncall: { type: 'webhook', url: oncall.url },
        lead: { type: 'webhook', url: lead.url },
        cto: { type: 'webhook', url: cto.url },
        slack: { type: 'slack', webhookUrl: { env: 'OPSFLOW_TEST_SLACK_URL' } },
        pd: { type: 'pagerduty', url: pd.url, routingKey: { env: 'OPSFLOW_TEST_PD_KEY' } },
      },
      incident: {
        store: { postgres: 'store', schema },
        contacts: { 'ops-lead': ['lead'], cto: ['cto'], engineers: ['lead'] },
        channels: ['slack', 'pd'],
        notify: { P0: ['on-call'], P1: ['on-call'] },
        rota: {
          timezone: 'UTC',
          shifts: [
            { name: 'day', start: '09:00', end: '18:00', oncall: 'alice', notify: ['oncall'] },
            { name: 'night', start: '18:00', end: '09:00', oncall: 'bob', notify: ['oncall'] },
          ],
        },
        escalation: { levels: [{ notify: ['ops-lead'] }, { notify: ['cto'] }] },
        remediation,
      },
    };
  }

  async function startWorker(cfg: unknown, taskQueue: string) {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: createActivities(parseConfigText(JSON.stringify(cfg), 'test.json')),
    });
    workers.push({ worker, running: worker.run() });
  }

  beforeAll(async () => {
    await requirePostgres();
    process.env.OPSFLOW_TEST_PD_KEY = 'routing-key-test';
    await Promise.all(receivers.map((r) => r.start()));
    process.env.OPSFLOW_TEST_SLACK_URL = slack.url + '/services/T0/B0/x';
    pg = new Client(pgConnection);
    await pg.connect();
    env = await timeSkippingEnv();
    await startWorker(config({ runbooks: { P0: [], P1: [], P2: [], P3: [] } }), 'incidents');
    await startWorker(
      config(
        {
          database: {
            primary: 'deaddb',
            failoverCommand: [
              process.execPath,
              '-e',
              `require('fs').writeFileSync(${JSON.stringify(join(dir, 'promoted'))}, 'yes')`,
            ],
          },
          runbooks: { P0: ['database'] },
        },
        { deaddb: { host: '127.0.0.1', port: 1, database: 'test', connectTimeoutMs: 2000 } },
      ),
      'incidents-db',
    );
  });

  afterAll(async () => {
    for (const w of workers) w.worker.shutdown();
    await Promise.all(workers.map((w) => w.running.catch(() => undefined)));
    await env?.teardown();
    await Promise.all(receivers.map((r) => r.stop()));
    await pg?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await pg?.end();
    rmSync(dir, { recursive: true, force: true });
  });

  const of = (r: HttpReceiver, workflowId: string) =>
    r.requests.filter(
      (q) =>
        JSON.stringify(q.json ?? q.body).includes(workflowId) ||
        String(q.headers['idempotency-key'] ?? '').startsWith(workflowId),
    );
  const keys = (reqs: ReceivedRequest[]) => reqs.map((q) => String(q.headers['idempotency-key']));
  const status = (id: string) => env.client.workflow.getHandle(id).query(statusQuery);

  test('no acknowledgement within the 15 min respond SLA escalates; the acknowledgement stops it; resolution closes PagerDuty and stores the postmortem', async () => {
    const workflowId = 'incident-esc-1';
    const handle = await env.client.workflow.start(incidentResponseWorkflow, {
      taskQueue: 'incidents',
      workflowId,
      args: [{ title: 'checkout web down', type: 'service_down', services: ['web-server'], source: 'cli' }],
    });
    await waitFor('the on-call page', () => of(oncall, workflowId).length === 1, 30_000);
    await waitFor('PagerDuty trigger', () => of(pd, workflowId).length === 1, 30_000);
    expect((await status(workflowId)).severity).toBe('P0');
    expect(of(lead, workflowId)).toHaveLength(0);

    await env.sleep('14m');
    expect(of(lead, workflowId)).toHaveLength(0);
    expect((await status(workflowId)).escalationLevel).toBe(0);

    await env.sleep('2m');
    await waitFor('the escalation to the ops lead', () => of(lead, workflowId).length === 1, 30_000);
    const escalated = await status(workflowId);
    expect(escalated.escalationLevel).toBe(1);
    expect(escalated.respondSlaMissed).toBe(true);
    expect(escalated.timeline.map((e) => e.kind)).toContain('escalated');

    await handle.signal(acknowledgeSignal, { by: 'alice' });
    await waitFor('acknowledged', async () => (await status(workflowId)).state === 'acknowledged', 30_000);
    await waitFor('PagerDuty acknowledge', () => of(pd, workflowId).length === 2, 30_000);

    await env.sleep('3h');
    expect(of(cto, workflowId)).toHaveLength(0); // level 2 would have fired 15 min after level 1
    expect((await status(workflowId)).escalationLevel).toBe(1);

    await handle.signal(noteSignal, { text: 'rolled back the bad deploy', by: 'alice' });
    await handle.signal(resolveSignal, { by: 'alice' });
    const result = await handle.result();
    expect(result).toMatchObject({ state: 'resolved', owner: 'alice', postmortemStored: true });
    expect(result.slaVerdict.respondMet).toBe(false);
    expect(result.slaVerdict.resolveMet).toBe(true);

    // PagerDuty: trigger, acknowledge, resolve under one dedup_key
    const pdReqs = of(pd, workflowId);
    expect(pdReqs.map((r) => r.json.event_action)).toEqual(['trigger', 'acknowledge', 'resolve']);
    expect(new Set(pdReqs.map((r) => r.json.dedup_key)).size).toBe(1);
    // the on-call receiver failed the first attempt; the retry carried the same key: one message per event
    const page = of(oncall, workflowId);
    expect(keys(page).map((k) => k.split('/')[2])).toEqual(['opened', 'resolved']);
    expect(oncall.attempts.filter((a) => String(a.headers['idempotency-key']).startsWith(workflowId)).length).toBe(3);
    // Slack heard of the opening, the escalation and the resolution
    expect(of(slack, workflowId).map((r) => r.headers['idempotency-key']!.toString().split('/')[2])).toEqual([
      'opened',
      'escalated-1',
      'resolved',
    ]);

    const row = await pg.query(`SELECT * FROM "${schema}".incidents WHERE workflow_id = $1`, [workflowId]);
    expect(row.rows).toHaveLength(1);
    expect(row.rows[0]).toMatchObject({
      id: result.id,
      state: 'resolved',
      owner: 'alice',
      severity: 'P0',
      escalation_level: 1,
    });
    expect(row.rows[0].id).toMatch(/^INC-\d{14}$/);
    expect(row.rows[0].postmortem).toContain(`# Postmortem ${result.id}: checkout web down`);
    expect(row.rows[0].postmortem).toMatch(/\| time to acknowledge \| 15 min \| 16(\.\d)? min \| \*\*missed\*\* \|/);
    const events = await pg.query(
      `SELECT kind, message FROM "${schema}".incident_events WHERE incident_id = $1 ORDER BY seq`,
      [result.id],
    );
    const kinds = events.rows.map((e) => e.kind);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'opened',
        'classified',
        'oncall',
        'notified',
        'sla',
        'escalated',
        'acknowledged',
        'note',
        'resolved',
      ]),
    );
    expect(events.rows.find((e) => e.kind === 'note').message).toBe('rolled back the bad deploy');
  });

  test('bad input fails the start at once, naming the field; nothing is sent or stored', async () => {
    const err = await env.client.workflow
      .execute(incidentResponseWorkflow, {
        taskQueue: 'incidents',
        workflowId: 'incident-bad',
        args: [{ title: 'x', type: 'Not A Type', metrics: { errorRate: 'high' } } as any],
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String(err.cause?.message)).toMatch(/type: a lower-case type/);
    expect(String(err.cause?.message)).toMatch(/metrics\.errorRate/);
    for (const r of receivers) expect(of(r, 'incident-bad')).toHaveLength(0);
    const rows = await pg.query(`SELECT 1 FROM "${schema}".incidents WHERE workflow_id = 'incident-bad'`);
    expect(rows.rowCount).toBe(0);
  });

  test('acknowledged within the SLA: nobody is escalated to', async () => {
    const workflowId = 'incident-esc-2';
    const handle = await env.client.workflow.start(incidentResponseWorkflow, {
      taskQueue: 'incidents',
      workflowId,
      args: [{ title: 'errors spiking', type: 'error_rate', metrics: { errorRate: 30 } }],
    });
    await waitFor('the on-call page', () => of(oncall, workflowId).length === 1, 30_000);
    expect((await status(workflowId)).severity).toBe('P1');
    await env.sleep('10m');
    await handle.signal(acknowledgeSignal, { by: 'bob' });
    await waitFor('acknowledged', async () => (await status(workflowId)).state === 'acknowledged', 30_000);
    await env.sleep('2h');
    expect(of(lead, workflowId)).toHaveLength(0);
    expect(of(cto, workflowId)).toHaveLength(0);
    await handle.signal(resolveSignal, { by: 'bob' });
    const result = await handle.result();
    expect(result.slaVerdict).toMatchObject({ respondMet: true, resolveMet: true });
  });

  test('a manual escalate notifies the next level at once', async () => {
    const workflowId = 'incident-esc-3';
    const handle = await env.client.workflow.start(incidentResponseWorkflow, {
      taskQueue: 'incidents',
      workflowId,
      args: [{ title: 'slow checkout', type: 'latency', metrics: { responseTimeMs: 12_000 } }],
    });
    await waitFor('the on-call page', () => of(oncall, workflowId).length === 1, 30_000);
    await handle.signal(escalateSignal, { by: 'alice', note: 'need the lead' });
    await waitFor('the lead', () => of(lead, workflowId).length === 1, 30_000);
    expect(of(lead, workflowId)[0].json.text).toContain('escalated by alice: need the lead');
    await handle.signal(resolveSignal, {});
    await handle.result();
  });

  test('a P3 pages nobody: it is recorded for the business-hours digest', async () => {
    const workflowId = 'incident-p3';
    const handle = await env.client.workflow.start(incidentResponseWorkflow, {
      taskQueue: 'incidents',
      workflowId,
      args: [{ title: 'typo on the pricing page', type: 'cosmetic' }],
    });
    await waitFor(
      'stored',
      async () => {
        const r = await pg
          .query(`SELECT digest, severity FROM "${schema}".incidents WHERE workflow_id = $1`, [workflowId])
          .catch(() => undefined);
        return r?.rows[0];
      },
      30_000,
    );
    await env.sleep('5h'); // past the P3 respond SLA: still nothing urgent
    await handle.signal(resolveSignal, { by: 'carol' });
    const result = await handle.result();
    expect(result.severity).toBe('P3');
    for (const r of receivers) expect(of(r, workflowId)).toHaveLength(0);
    const row = await pg.query(`SELECT digest, severity FROM "${schema}".incidents WHERE workflow_id = $1`, [
      workflowId,
    ]);
    expect(row.rows[0]).toEqual({ digest: true, severity: 'P3' });
  });

  test('the business-hours digest lists P3 incidents once', async () => {
    const handle = await env.client.workflow.start(incidentResponseWorkflow, {
      taskQueue: 'incidents',
      workflowId: 'incident-p3-digest',
      args: [{ title: 'footer link broken', type: 'cosmetic' }],
    });
    await handle.signal(resolveSignal, { by: 'carol' });
    const p3 = await handle.result();
    const before = lead.requests.length;
    const first = await env.client.workflow.execute(incidentDigestWorkflow, {
      taskQueue: 'incidents',
      workflowId: 'incident-digest-1',
      args: [{}],
    });
    expect(first.incidents).toContain(p3.id);
    expect(first.notified).toEqual(['lead']);
    const digest = lead.requests.slice(before);
    expect(digest).toHaveLength(1);
    expect(digest[0].json.title).toMatch(/^P3 digest: \d+ minor incident/);
    expect(digest[0].json.text).toContain(`${p3.id} footer link broken (cosmetic)`);
    const second = await env.client.workflow.execute(incidentDigestWorkflow, {
      taskQueue: 'incidents',
      workflowId: 'incident-digest-2',
      args: [{}],
    });
    expect(second).toEqual({ incidents: [], notified: [], failed: [] });
    expect(lead.requests.length).toBe(before + 1);
  });

  test('failover waits for approve: the primary is down, nothing is promoted until someone approves', async () => {
    const workflowId = 'incident-db';
    const marker = join(dir, 'promoted');
    const handle = await env.client.workflow.start(incidentResponseWorkflow, {
      taskQueue: 'incidents-db',
      workflowId,
      args: [{ title: 'orders database down', type: 'database_down' }],
    });
    await waitFor(
      'waiting for approve',
      async () => (await status(workflowId)).pendingApproval === 'failover-database',
      60_000,
    );
    const waiting = await status(workflowId);
    expect(waiting.timeline.some((e) => e.kind === 'remediation' && /primary deaddb is down/.test(e.message))).toBe(
      true,
    );
    await env.sleep('30m');
    expect(existsSync(marker)).toBe(false);
    await handle.signal(approveSignal, { by: 'bob' });
    await waitFor('the failover command ran', () => existsSync(marker), 60_000);
    await waitFor('step done', async () => (await status(workflowId)).runbook[0]?.outcome === 'ok', 30_000);
    await handle.signal(resolveSignal, { by: 'bob' });
    const result = await handle.result();
    const events = await pg.query(
      `SELECT kind, message, outcome FROM "${schema}".incident_events WHERE incident_id = $1 ORDER BY seq`,
      [result.id],
    );
    const msgs = events.rows.map((e) => `${e.kind}:${e.outcome ?? ''}:${e.message}`);
    const waitIdx = msgs.findIndex((m) => m.startsWith('approval:waiting:waiting for approve of failover-database'));
    const approveIdx = msgs.findIndex((m) => m.startsWith('approval:ok:approved failover-database by bob'));
    const doneIdx = msgs.findIndex((m) => m.startsWith('remediation:ok:failover: '));
    expect(waitIdx).toBeGreaterThan(-1);
    expect(approveIdx).toBeGreaterThan(waitIdx);
    expect(doneIdx).toBeGreaterThan(approveIdx);
  });

  test("a run cancelled before resolution ends OpsflowState='cancelled' and says so in status", async () => {
    const workflowId = 'incident-cancelled';
    const handle = await env.client.workflow.start(incidentResponseWorkflow, {
      taskQueue: 'incidents',
      workflowId,
      args: [{ title: 'errors spiking again', type: 'error_rate', metrics: { errorRate: 30 } }],
    });
    await waitFor('the on-call page', () => of(oncall, workflowId).length === 1, 30_000);
    expect((await handle.describe()).typedSearchAttributes.get(OpsflowState)).toBe('open');
    await handle.cancel();
    const err = await handle.result().catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect((await handle.describe()).typedSearchAttributes.get(OpsflowState)).toBe('cancelled');
    const s = await status(workflowId);
    expect(s.ended).toEqual({ kind: 'cancelled', message: expect.any(String) });
    expect(s.state).toBe('open');
  });

  // The two tests after this one end with an activity still running after its run has ended (a
  // held page, a store that never answers); the time-skipping server then keeps time locked, so
  // every test that needs time to pass runs before them.
  test('a run cancelled while a page is being sent records no "could not notify": the cancellation is not a refusal', async () => {
    // A webhook that takes the page and never answers: the send is surely in flight at the cancel.
    const held: import('node:http').ServerResponse[] = [];
    const silentHook = createHttpServer((_q, r) => held.push(r));
    await new Promise<void>((r) => silentHook.listen(0, '127.0.0.1', r));
    try {
      const cfg = config({ runbooks: { P0: [], P1: [], P2: [], P3: [] } });
      cfg.notifiers.oncall = { type: 'webhook', url: `http://127.0.0.1:${(silentHook.address() as AddressInfo).port}` };
      await startWorker(cfg, 'incidents-page-held');
      const workflowId = 'incident-cancelled-mid-page';
      const handle = await env.client.workflow.start(incidentResponseWorkflow, {
        taskQueue: 'incidents-page-held',
        workflowId,
        args: [{ title: 'errors spiking, page held', type: 'error_rate', metrics: { errorRate: 30 } }],
      });
      await waitFor('the page to reach the held webhook', () => held.length >= 1, 30_000);
      await handle.cancel();
      await handle.result().catch(() => undefined);
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      const s = await status(workflowId);
      expect(s.timeline.filter((e) => e.kind === 'notified' && e.outcome === 'failed')).toEqual([]);
      expect(s.ended).toEqual({ kind: 'cancelled', message: expect.any(String) });
      recordHistory(env.address, workflowId, 'incident-cancelled-mid-page');
    } finally {
      for (const r of held) r.destroy();
      silentHook.close();
    }
  });

  test('an incident store that never answers delays no page: the page goes out while the store is still being asked', async () => {
    // A PostgreSQL that accepts connections and never answers (a blackholed database): every
    // reservation attempt waits out its 20 s timeout, so a page that waited for it would take a minute.
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    try {
      const cfg = config(
        { runbooks: { P0: [], P1: [], P2: [], P3: [] } },
        { silentdb: { host: '127.0.0.1', port, database: 'test', connectTimeoutMs: 60_000 } },
      );
      cfg.incident.store = { postgres: 'silentdb', schema };
      await startWorker(cfg, 'incidents-store-silent');
      const workflowId = 'incident-store-silent';
      const handle = await env.client.workflow.start(incidentResponseWorkflow, {
        taskQueue: 'incidents-store-silent',
        workflowId,
        args: [{ title: 'errors spiking, store silent', type: 'error_rate', metrics: { errorRate: 30 } }],
      });
      await waitFor('the on-call page', () => of(oncall, workflowId).length === 1, 30_000);
      // the page arrives before its activity's result reaches the run: wait for the run to record it
      await waitFor(
        'the page recorded in the timeline',
        async () => (await status(workflowId)).timeline.some((e) => e.kind === 'notified' && e.outcome === 'ok'),
        30_000,
      );
      const s = await status(workflowId);
      // the store has not answered yet: no store line, no problem reported
      expect([s.timeline.some((e) => e.kind === 'store'), s.storeProblem]).toEqual([false, undefined]);
      expect(s.state).toBe('open');
      await handle.terminate('test over: the record would wait for the store without end');
    } finally {
      silent.close();
    }
  });
});

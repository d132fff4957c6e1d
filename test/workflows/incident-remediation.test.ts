import { defaultPayloadConverter } from '@temporalio/common';
import { Client } from 'pg';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { request } from 'undici';
import { timeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { HttpReceiver } from '../helpers/http-receiver';
import { SystemdStandin } from '../helpers/systemd-standin';
import { pgConnection, requirePostgres } from '../helpers/services';
import { freePort, waitFor, waitForPort } from '../helpers/ports';
import { recordHistory } from '../helpers/histories';
import { createActivities } from '../../src/activities';
import { parseConfigText } from '../../src/config/load';
import { incidentResponseWorkflow } from '../../src/workflows/incident';
import { approveSignal, resolveSignal, statusQuery } from '../../src/workflows/incident/messages';

/**
 * The restart step of the runbook with the real systemd activities and the stand-in systemctl:
 * without pre-approval a restart waits for `approve`; a resolution before it leaves the service
 * alone; a service still unhealthy after its restart is reported, not hidden.
 */
describe('incidentResponseWorkflow: restart remediation (time-skipping, stand-in systemd)', () => {
  let env: TestWorkflowEnvironment;
  const systemd = new SystemdStandin();
  const schema = `opsflow_test_rem_${process.pid}_${Date.now() % 100000}`;
  const channel = new HttpReceiver({ honourKey: true });
  let worker: Worker;
  let running: Promise<void>;
  let pg: Client;
  let goodPort = 0;
  let badPort = 0;

  beforeAll(async () => {
    await requirePostgres();
    [goodPort, badPort] = await Promise.all([freePort(), freePort()]);
    systemd.defineHttpService('shop-app', goodPort);
    systemd.defineHttpService('broken-app', badPort, { STATUS: '503' });
    systemd.systemctl('start', 'shop-app', 'broken-app');
    await Promise.all([waitForPort(goodPort), waitForPort(badPort), channel.start()]);
    pg = new Client(pgConnection);
    await pg.connect();
    const config = {
      http: {
        shop: { url: `http://127.0.0.1:${goodPort}/health` },
        broken: { url: `http://127.0.0.1:${badPort}/health`, timeoutMs: 2000 },
      },
      postgres: { store: pgConnection },
      systemd: { systemctl: systemd.systemctlPath },
      notifiers: { team: { type: 'webhook', url: channel.url } },
      incident: {
        store: { postgres: 'store', schema },
        channels: ['team'],
        remediation: {
          services: {
            shop: {
              units: ['shop-app'],
              health: 'shop',
              settleSeconds: 1,
              healthAttempts: 10,
              healthIntervalSeconds: 0.5,
            },
            broken: {
              units: ['broken-app'],
              health: 'broken',
              settleSeconds: 1,
              healthAttempts: 3,
              healthIntervalSeconds: 0.5,
            },
          },
          runbooks: { P0: ['restart'], P1: ['restart'], P2: ['restart'] },
        },
      },
    };
    env = await timeSkippingEnv();
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'remediation',
      workflowBundle: await workflowBundle(),
      activities: createActivities(parseConfigText(JSON.stringify(config), 'test.json')),
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running?.catch(() => undefined);
    await env?.teardown();
    systemd.stopAll();
    await channel.stop();
    await pg?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await pg?.end();
  });

  const start = (workflowId: string, service: string) =>
    env.client.workflow.start(incidentResponseWorkflow, {
      taskQueue: 'remediation',
      workflowId,
      args: [{ title: `${service} down`, type: 'service_down', services: [service], metrics: { errorRate: 30 } }],
    });
  const status = (id: string) => env.client.workflow.getHandle(id).query(statusQuery);
  const timerSummaries = async (id: string) => {
    const { events } = await env.client.workflow.getHandle(id).fetchHistory();
    return (events ?? [])
      .filter((e) => e.timerStartedEventAttributes && e.userMetadata?.summary)
      .map((e) => defaultPayloadConverter.fromPayload<string>(e.userMetadata!.summary!));
  };
  const currentDetails = async (id: string) =>
    (await env.client.workflow.getHandle(id).query<{ currentDetails?: string }>('__temporal_workflow_metadata'))
      .currentDetails ?? '';

  test('a restart that is not pre-approved waits for approve, then restarts (new pid) and verifies health', async () => {
    const before = systemd.mainPid('shop-app');
    const handle = await start('incident-rem-1', 'shop');
    await waitFor(
      'waiting for approve',
      async () => (await status('incident-rem-1')).pendingApproval === 'restart-shop',
      30_000,
    );
    // The Web UI shows why it waits: a timer whose summary names the command, and the current details.
    expect(await timerSummaries('incident-rem-1')).toEqual(
      expect.arrayContaining([
        'awaiting approval of runbook step restart-shop — `opsflow approve incident-rem-1 --step restart-shop`',
        expect.stringMatching(/^respond SLA: .* — `opsflow acknowledge incident-rem-1`$/),
        expect.stringMatching(/^resolve SLA P\d: \d+ min — `opsflow resolve incident-rem-1`$/),
      ]),
    );
    const details = await currentDetails('incident-rem-1');
    expect(details).toContain('`opsflow approve incident-rem-1 --step restart-shop`');
    expect(details).toContain('`opsflow acknowledge incident-rem-1`');
    await env.sleep('20m');
    expect(systemd.mainPid('shop-app')).toBe(before);
    await handle.signal(approveSignal, { by: 'bob' });
    await waitFor(
      'restarted and verified',
      async () => (await status('incident-rem-1')).runbook[0]?.outcome === 'ok',
      60_000,
    );
    const after = systemd.mainPid('shop-app');
    expect(after).not.toBe(before);
    const served = (await (await request(`http://127.0.0.1:${goodPort}/health`)).body.json()) as { pid: number };
    expect(served.pid).toBe(after);
    const timeline = (await status('incident-rem-1')).timeline.map((e) => e.message);
    expect(timeline).toEqual(
      expect.arrayContaining(['restarted shop-app', expect.stringMatching(/^shop healthy after restart \(HTTP 200/)]),
    );
    await handle.signal(resolveSignal, { by: 'bob' });
    await handle.result();
    recordHistory(env.address, 'incident-rem-1', 'incident-runbook-step-approved');
  });

  test('resolved before anyone approves: the restart is skipped and the service left alone', async () => {
    const before = systemd.mainPid('shop-app');
    const handle = await start('incident-rem-2', 'shop');
    await waitFor(
      'waiting for approve',
      async () => (await status('incident-rem-2')).pendingApproval === 'restart-shop',
      30_000,
    );
    await handle.signal(resolveSignal, { by: 'alice', note: 'false alarm' });
    const result = await handle.result();
    expect(systemd.mainPid('shop-app')).toBe(before);
    const events = await pg.query(
      `SELECT message, outcome FROM "${schema}".incident_events WHERE incident_id = $1 ORDER BY seq`,
      [result.id],
    );
    expect(events.rows).toEqual(
      expect.arrayContaining([
        { message: 'restart-shop: skipped (not approved before resolution)', outcome: 'skipped' },
      ]),
    );
  });

  test('still unhealthy after the restart: the step fails, the channel is told, the incident stays open', async () => {
    const handle = await start('incident-rem-3', 'broken');
    await waitFor(
      'waiting for approve',
      async () => (await status('incident-rem-3')).pendingApproval === 'restart-broken',
      30_000,
    );
    await handle.signal(approveSignal, {});
    await waitFor('step failed', async () => (await status('incident-rem-3')).runbook[0]?.outcome === 'failed', 90_000);
    await waitFor(
      'remediation-failed message',
      () =>
        channel.requests.some(
          (r) =>
            String(r.headers['idempotency-key']).startsWith('incident-rem-3/') &&
            /remediation-failed/.test(String(r.headers['idempotency-key'])),
        ),
      30_000,
    );
    const s = await status('incident-rem-3');
    expect(s.state).toBe('open');
    expect(
      s.timeline.some(
        (e) => e.outcome === 'failed' && /^broken still unhealthy after restart: .*answered 503/.test(e.message),
      ),
    ).toBe(true);
    await handle.signal(resolveSignal, {});
    await handle.result();
  });
});

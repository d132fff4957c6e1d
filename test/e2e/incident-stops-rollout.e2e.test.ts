import { join, resolve } from 'node:path';
import { request } from 'undici';
import { Stack, writeConfig } from '../helpers/stack';
import { HttpReceiver } from '../helpers/http-receiver';
import { freePort, waitFor, waitForPort } from '../helpers/ports';
import { pgConnection, requirePostgres } from '../helpers/services';
import { PgScratch } from '../helpers/pg-scratch';
import { ProcessGroup } from '../helpers/processes';
import { recordHistory } from '../helpers/histories';
import { blueGreenBehindHaproxy, type Haproxy } from '../helpers/haproxy';
import { runtimeApiCommand } from '../../src/activities/systems/load-balancer/haproxy-runtime-api';
import { statusQuery as incidentStatusQuery } from '../../src/workflows/incident/messages';
import { abortSignal, statusQuery as rolloutStatusQuery } from '../../src/workflows/rollout/messages';
import { testToken } from '../helpers/tokens';

const root = resolve(__dirname, '../..');
const TOKEN = testToken('alert-rollout');
jest.setTimeout(180_000);

/**
 * Incidents stop the rollout that caused them, end to end: an Alertmanager alert reaches the real
 * receiver (`opsflow alerts serve`) for a service whose rollout is mid-way behind a real HAProxy;
 * P1 rolls it back (HAProxy reads 0 for the new server), P2 pauses it; both timelines say why.
 */
describe('an incident stops the rollout of its service', () => {
  let stack: Stack;
  let haproxy: Haproxy;
  const pg = new PgScratch('inc_rollout');
  const hook = new HttpReceiver();
  const procs = new ProcessGroup();
  let receiverUrl = '';
  let schema = '';
  const api = (cmd: string) => runtimeApiCommand({ socket: haproxy.socket }, cmd, 5000);
  const weight = async (server: string) => Number((await api(`get weight app/${server}`)).split(' ')[0]);

  beforeAll(async () => {
    await requirePostgres();
    stack = await Stack.start();
    ({ haproxy } = await blueGreenBehindHaproxy(stack.processes));
    await hook.start();
    schema = await pg.schema();
    const receiverPort = await freePort();
    process.env.OPSFLOW_TEST_ROLLOUT_ALERTS = TOKEN;
    const config = {
      postgres: { main: { ...pgConnection } },
      loadBalancers: { edge: { type: 'haproxy', runtimeApi: { socket: haproxy.socket }, backend: 'app' } },
      metricSources: {
        'through-lb': {
          type: 'probe',
          url: `${haproxy.url}/`,
          requests: 20,
          minRequests: 10,
          concurrency: 2,
          timeoutMs: 3000,
        },
      },
      notifiers: { ops: { type: 'webhook', url: `${hook.url}/hook` } },
      incident: {
        store: { postgres: 'main', schema },
        channels: ['ops'],
        notify: { P0: ['ops'], P1: ['ops'], P2: ['ops'], P3: ['ops'] },
        rota: {
          timezone: 'UTC',
          shifts: [
            { name: 'day', start: '00:00', end: '12:00', oncall: 'carol', notify: ['ops'] },
            { name: 'night', start: '12:00', end: '00:00', oncall: 'dave', notify: ['ops'] },
          ],
        },
        receiver: { token: { env: 'OPSFLOW_TEST_ROLLOUT_ALERTS' }, port: receiverPort },
      },
    };
    const configPath = writeConfig(config);
    await stack.startWorker(config);
    const child = procs.spawn(
      join(root, 'node_modules/.bin/tsx'),
      [join(root, 'src/client/cli.ts'), '-c', configPath, 'alerts', 'serve'],
      {
        cwd: root,
        env: { ...process.env, TEMPORAL_ADDRESS: stack.temporalAddress() },
      },
    );
    const out = ProcessGroup.output(child);
    await waitForPort(receiverPort, '127.0.0.1', 60_000).catch((e) => {
      throw new Error(`${e.message}\n${out()}`);
    });
    receiverUrl = `http://127.0.0.1:${receiverPort}/alertmanager`;
  }, 180_000);

  afterAll(async () => {
    await procs.stopAll();
    await stack?.stop();
    await haproxy?.stop();
    await hook.stop();
    await pg.drop();
  }, 60_000);

  const post = async (
    fingerprint: string,
    labels: Record<string, string>,
    status: 'firing' | 'resolved' = 'firing',
  ) => {
    const res = await request(receiverUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({
        version: '4',
        groupKey: '{}:{alertname="CheckoutErrors"}',
        truncatedAlerts: 0,
        status,
        receiver: 'opsflow',
        groupLabels: { alertname: 'CheckoutErrors' },
        commonLabels: {},
        commonAnnotations: {},
        externalURL: 'http://alertmanager.local:9093',
        alerts: [
          {
            status,
            labels: { alertname: 'CheckoutErrors', incident_type: 'high_error_rate', ...labels },
            annotations: { summary: 'checkout errors after the new build' },
            startsAt: '2026-01-15T10:00:00Z',
            endsAt: status === 'resolved' ? '2026-01-15T10:30:00Z' : '0001-01-01T00:00:00Z',
            generatorURL: 'http://prometheus.local:9090/graph',
            fingerprint,
          },
        ],
      }),
    });
    const body = await res.body.text();
    expect([res.statusCode, body]).toEqual([200, expect.any(String)]);
    return JSON.parse(body) as { incidents: { workflowId: string }[] };
  };

  async function rolloutAtHalf(service: string) {
    for (const cmd of [
      'set server app/blue weight 100',
      'set server app/green weight 0',
      'set server app/blue state ready',
      'set server app/green state ready',
    ])
      await api(cmd);
    const handle = await stack.client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: `rollout-${service}`,
      args: [
        {
          service,
          lb: 'edge',
          backends: { old: 'blue', new: 'green' },
          metricSources: ['through-lb'],
          gate: { errorRatePercent: 50 },
          sampleInterval: '1s',
          steps: [
            { weight: 50, window: '5m' },
            { weight: 100, window: '5s' },
          ],
        },
      ],
    });
    await waitFor('green at 50 %', async () => ((await weight('green')) === 50 ? true : undefined), 60_000, 250);
    return handle;
  }
  const weights = async () => ({ blue: await weight('blue'), green: await weight('green') });
  const lbReads = (want: { blue: number; green: number }) =>
    waitFor(
      `HAProxy at blue ${want.blue}, green ${want.green}`,
      async () => {
        const w = await weights();
        return w.blue === want.blue && w.green === want.green ? w : undefined;
      },
      60_000,
      250,
    ).catch(async (e) => {
      throw new Error(`${e.message}: HAProxy reads ${JSON.stringify(await weights())}`);
    });
  const incidentOf = async (fingerprint: string) => stack.client.workflow.getHandle(`incident-${fingerprint}`);
  const timelineOf = async (fingerprint: string) =>
    (await (await incidentOf(fingerprint)).query(incidentStatusQuery)).timeline.filter((e) => e.kind === 'change');

  test('P1: the rollout is rolled back (HAProxy reads 0 for green) and both timelines say which incident did it', async () => {
    const rollout = await rolloutAtHalf('checkout');
    await post('aa11bb22cc33', { service: 'checkout', opsflow_severity: 'P1' });
    // The LB first, with a bound: a rollback that does not happen fails here, saying what HAProxy reads.
    await lbReads({ blue: 100, green: 0 });
    const err = await rollout.result().catch((e) => e);
    expect(String(err.cause?.message)).toMatch(/abort/i);
    const changes = await waitFor(
      'the incident timeline',
      async () => ((await timelineOf('aa11bb22cc33')).length ? timelineOf('aa11bb22cc33') : undefined),
      30_000,
      250,
    );
    const incidentId = (await (await incidentOf('aa11bb22cc33')).query(incidentStatusQuery)).id;
    expect(changes.map((e) => [e.message, e.outcome])).toEqual([
      [`rollout of checkout (rollout-checkout) rolled back by incident ${incidentId}`, 'ok'],
    ]);
    const rolloutStatus = await rollout.query(rolloutStatusQuery);
    expect(rolloutStatus.decisions.some((d) => d.decision.includes(`incident ${incidentId}`))).toBe(true);
    // Resolved: the postmortem names the change that was in flight.
    await post('aa11bb22cc33', { service: 'checkout', opsflow_severity: 'P1' }, 'resolved');
    await (await incidentOf('aa11bb22cc33')).result();
    const [{ postmortem }] = await pg.query<{ postmortem: string }>(
      `SELECT postmortem FROM ${schema}.incidents WHERE id = $1`,
      [incidentId],
    );
    expect(postmortem).toContain(`rollout of checkout (rollout-checkout) rolled back by incident ${incidentId}`);
    recordHistory(stack.temporalAddress(), 'incident-aa11bb22cc33', 'incident-p1-rolls-back-rollout');
  });

  test('P2: the rollout is paused, not rolled back; an incident for a service with no rollout says nothing was running', async () => {
    const rollout = await rolloutAtHalf('cart');
    await post('dd44ee55ff66', { service: 'cart', opsflow_severity: 'P2' });
    const paused = await waitFor(
      'rollout paused',
      async () => {
        const s = await rollout.query(rolloutStatusQuery);
        return s.paused ? s : undefined;
      },
      30_000,
      250,
    );
    expect(paused.paused).toBe(true);
    expect(await weight('green')).toBe(50);
    const changes = await waitFor(
      'the incident timeline',
      async () => ((await timelineOf('dd44ee55ff66')).length ? timelineOf('dd44ee55ff66') : undefined),
      30_000,
      250,
    );
    expect(changes[0].message).toMatch(/^rollout of cart \(rollout-cart\) paused by incident /);
    await rollout.signal(abortSignal, { by: 'test', reason: 'cleanup' });
    await rollout.result().catch(() => undefined);

    await post('0f0f0f0f0f0f', { service: 'search', opsflow_severity: 'P1' });
    const none = await waitFor(
      'the incident timeline',
      async () => ((await timelineOf('0f0f0f0f0f0f')).length ? timelineOf('0f0f0f0f0f0f') : undefined),
      30_000,
      250,
    );
    expect(none.map((e) => [e.message, e.outcome])).toEqual([
      ['no rollout, cutover or deploy of search running: nothing to stop', 'skipped'],
    ]);
  });
});

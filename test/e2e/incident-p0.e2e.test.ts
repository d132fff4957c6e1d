import { join, resolve } from 'node:path';
import { Client as PgClient } from 'pg';
import { request } from 'undici';
import { Stack, writeConfig } from '../helpers/stack';
import { HttpReceiver, type ReceivedRequest } from '../helpers/http-receiver';
import { SmtpReceiver } from '../helpers/smtp-receiver';
import { SystemdStandin } from '../helpers/systemd-standin';
import { freePort, waitFor, waitForPort } from '../helpers/ports';
import { pgConnection, requirePostgres } from '../helpers/services';
import { ProcessGroup } from '../helpers/processes';
import { recordHistory } from '../helpers/histories';
import { execFileSync } from 'node:child_process';
import { temporalCliPath } from '../../scripts/temporal-binaries';
import { Haproxy, measureSplit, startBackend } from '../helpers/haproxy';
import { parseConfigText } from '../../src/config/load';
import { lookupLoadBalancer } from '../../src/activities/systems/load-balancer';
import { testToken } from '../helpers/tokens';
import { resolveSignal, statusQuery } from '../../src/workflows/incident/messages';

const root = resolve(__dirname, '../..');
const TOKEN = testToken('alert-e2e');

/**
 * A Berlin rota of three people in which the shift holding "now" (the hour before to two hours
 * after the test starts, read with Intl here, not with the code under test) is carol's and is not
 * the first listed: the incident must name carol, and a wrong zone or "the first shift" names
 * someone else.
 */
function rotaAroundNow() {
  const hour = Number(
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', hourCycle: 'h23' }).format(
      new Date(),
    ),
  );
  const at = (h: number) => `${String((h + 24) % 24).padStart(2, '0')}:00`;
  return {
    timezone: 'Europe/Berlin',
    shifts: [
      { name: 'later', start: at(hour + 2), end: at(hour + 12), oncall: 'alice', notify: ['oncall-sms'] },
      { name: 'earlier', start: at(hour + 12), end: at(hour - 1), oncall: 'bob', notify: ['oncall-sms'] },
      { name: 'now', start: at(hour - 1), end: at(hour + 2), oncall: 'carol', notify: ['oncall-sms'] },
    ],
  };
}

/**
 * runbooks §6 P0 end to end: an Alertmanager payload reaches `opsflow alerts serve` (its own process)
 * on the real Temporal dev server; the incident restarts the web units through the stand-in
 * systemctl (the processes' pids change), verifies health, checks the primary database, collects
 * diagnostics, notifies Slack, a webhook, PagerDuty, SMS and email (a real SMTP server) once each;
 * an acknowledgement from the CLI and the resolved alert close it with a postmortem in PostgreSQL.
 */
describe('incident response end to end (dev server)', () => {
  let stack: Stack;
  const systemd = new SystemdStandin();
  const schema = `opsflow_test_e2e_${process.pid}_${Date.now() % 100000}`;
  const slack = new HttpReceiver();
  const ops = new HttpReceiver({ failFirst: 1, honourKey: true });
  const biz = new HttpReceiver({ honourKey: true });
  const pd = new HttpReceiver({
    okStatus: 202,
    honourKey: (r) => r.json && `${r.json.dedup_key}/${r.json.event_action}`,
  });
  const sms = new HttpReceiver({ okStatus: 201, honourKey: true });
  const smtp = new SmtpReceiver();
  const procs = new ProcessGroup();
  let receiverUrl = '';
  let configPath = '';
  let pg: PgClient;
  let webPort = 0;
  let haproxy: Haproxy;
  let lbState: (server: string) => Promise<string>;

  const post = async (body: unknown, token = TOKEN) => {
    const res = await request(receiverUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.statusCode, json: (await res.body.json()) as any };
  };

  const alert = (
    status: 'firing' | 'resolved',
    fingerprint: string,
    labels: Record<string, string> = {},
    annotations: Record<string, string> = {},
  ) => ({
    version: '4',
    groupKey: '{}:{alertname="WebServerDown"}',
    truncatedAlerts: 0,
    status,
    receiver: 'opsflow',
    groupLabels: { alertname: 'WebServerDown' },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.local:9093',
    alerts: [
      {
        status,
        labels: {
          alertname: 'WebServerDown',
          incident_type: 'service_down',
          service: 'web-server',
          severity: 'critical',
          ...labels,
        },
        annotations: { summary: 'checkout web server is down', error_rate: '75', ...annotations },
        startsAt: '2026-01-15T10:00:00Z',
        endsAt: status === 'resolved' ? '2026-01-15T10:30:00Z' : '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.local:9090/graph?g0.expr=up',
        fingerprint,
      },
    ],
  });

  beforeAll(async () => {
    await requirePostgres();
    systemd.install();
    const [nginxPort, receiverPort] = await Promise.all([freePort(), freePort()]);
    webPort = await freePort();
    systemd.defineHttpService('edge-nginx', nginxPort);
    systemd.defineHttpService('web-app', webPort);
    systemd.systemctl('start', 'edge-nginx', 'web-app');
    await Promise.all([waitForPort(nginxPort), waitForPort(webPort)]);
    await Promise.all([slack, ops, biz, pd, sms, smtp].map((r) => r.start()));
    const backup = await startBackend(procs, 'backup1');
    haproxy = await new Haproxy(procs, [
      { name: 'web', port: webPort, weight: 100 },
      { name: 'backup1', port: backup.port, weight: 100 },
    ]).start();
    process.env.OPSFLOW_TEST_E2E_SLACK = `${slack.url}/services/T/B/x`;
    process.env.OPSFLOW_TEST_E2E_PD = 'pd-routing-e2e';
    process.env.OPSFLOW_TEST_E2E_SMS = 'sms-token-e2e';
    process.env.OPSFLOW_TEST_E2E_ALERTS = TOKEN;
    const config = {
      http: { web: { url: `http://127.0.0.1:${webPort}/health`, timeoutMs: 3000 } },
      postgres: { main: { ...pgConnection } },
      systemd: { systemctl: systemd.systemctlPath },
      loadBalancers: { edge: { type: 'haproxy', runtimeApi: { socket: haproxy.socket }, backend: 'app' } },
      notifiers: {
        slack: { type: 'slack', webhookUrl: { env: 'OPSFLOW_TEST_E2E_SLACK' } },
        'ops-hook': { type: 'webhook', url: `${ops.url}/hook` },
        'biz-hook': { type: 'webhook', url: `${biz.url}/hook` },
        pd: { type: 'pagerduty', url: `${pd.url}/v2/enqueue`, routingKey: { env: 'OPSFLOW_TEST_E2E_PD' } },
        'oncall-sms': {
          type: 'sms',
          baseUrl: sms.url,
          accountSid: 'AC1',
          authToken: { env: 'OPSFLOW_TEST_E2E_SMS' },
          from: '+15550000000',
          to: ['+15551230000'],
        },
        'cto-mail': {
          type: 'email',
          host: '127.0.0.1',
          port: smtp.port,
          from: 'opsflow@example.test',
          to: ['cto@example.test'],
        },
      },
      incident: {
        store: { postgres: 'main', schema },
        contacts: { cto: ['cto-mail'], 'ops-lead': ['ops-hook'], 'business-owner': ['biz-hook'] },
        channels: ['slack', 'pd'],
        rota: rotaAroundNow(),
        warRoomUrl: 'https://meet.example.test/war-room',
        remediation: {
          services: {
            'web-server': {
              units: ['edge-nginx', 'web-app'],
              health: 'web',
              settleSeconds: 1,
              healthAttempts: 20,
              healthIntervalSeconds: 1,
            },
          },
          database: { primary: 'main', failoverCommand: ['false'] },
          backupServers: { lb: 'edge', servers: ['backup1'] },
          diagnostics: { host: true, commands: { uname: ['uname', '-a'] }, postgres: 'main' },
          preApproved: { restart: true },
        },
        receiver: { token: { env: 'OPSFLOW_TEST_E2E_ALERTS' }, port: receiverPort },
      },
    };
    configPath = writeConfig(config);
    // The backup starts out of rotation, as a cold standby would be.
    const lb = lookupLoadBalancer(parseConfigText(JSON.stringify(config), 'lb.json'), 'edge');
    await lb.setServerState('backup1', 'maint');
    lbState = (server) => lb.readServerState(server);
    pg = new PgClient(pgConnection);
    await pg.connect();
    stack = await Stack.start();
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
  });

  afterAll(async () => {
    await haproxy?.stop();
    await procs.stopAll();
    await stack?.stop();
    systemd.stopAll();
    await Promise.all([slack, ops, biz, pd, sms, smtp].map((r) => r.stop()));
    await pg?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await pg?.end();
  });

  // The stand-in prints one MainPID line per argument of `show -p MainPID <unit>`: the unit's is the last.
  const mainPid = (unit: string) =>
    Number(systemd.systemctl('show', '-p', 'MainPID', unit).trim().split('\n').pop()!.split('=')[1]);
  const events = (reqs: ReceivedRequest[]) => reqs.map((r) => String(r.headers['idempotency-key'] ?? '').split('/')[2]);

  test('P0: alert (three times) → one incident → units restarted, health verified → notified once each → ack → resolved alert → PagerDuty resolve → postmortem stored', async () => {
    const pidsBefore = [mainPid('edge-nginx'), mainPid('web-app')];
    expect(pidsBefore.every((p) => p > 0)).toBe(true);
    const workflowId = 'incident-0a1b2c3d4e5f';

    for (const result of ['opened', 'joined', 'joined']) {
      const r = await post(alert('firing', '0a1b2c3d4e5f'));
      expect(r.status).toBe(200);
      // the alert's own severity: critical says P1; the runbook's rule (web server down) raises it to P0
      expect(r.json.incidents).toEqual([
        {
          workflowId,
          status: 'firing',
          result,
          severity: 'P0',
          severityReason: 'web server down (severity label "critical" says P1)',
        },
      ]);
    }
    const handle = stack.client.workflow.getHandle(workflowId);
    const status = () => handle.query(statusQuery);

    await waitFor(
      'both units restarted',
      () => mainPid('edge-nginx') !== pidsBefore[0] && mainPid('web-app') !== pidsBefore[1] && mainPid('web-app') > 0,
      90_000,
    );
    await waitFor(
      'health verified',
      async () =>
        (await status()).timeline.some((e) => e.kind === 'remediation' && /^web healthy after restart/.test(e.message)),
      90_000,
    );
    const health = await request(`http://127.0.0.1:${webPort}/health`);
    expect(((await health.body.json()) as { pid: number }).pid).toBe(mainPid('web-app'));

    // activating the backup server is not pre-approved: it waits for a person
    await waitFor(
      'waiting for approve',
      async () => (await status()).pendingApproval === 'activate-backup-servers',
      90_000,
    );
    expect(await lbState('backup1')).toBe('maint');
    const approve = await stack.cli(['-c', configPath, 'incident', 'approve', workflowId, '--by', 'bob']);
    expect(approve.stderr).toBe('');
    expect(approve.code).toBe(0);
    await waitFor('backup server in rotation', async () => (await lbState('backup1')) === 'ready', 60_000);
    expect((await measureSplit(haproxy.url, 40, 4)).counts.backup1).toBeGreaterThan(0);

    await waitFor(
      'every P0 target notified',
      () =>
        slack.requests.length >= 1 &&
        ops.requests.length >= 1 &&
        biz.requests.length >= 1 &&
        pd.requests.length >= 1 &&
        sms.requests.length >= 1 &&
        smtp.messages.length >= 1,
      60_000,
    );
    await waitFor('runbook done', async () => (await status()).runbook.every((s) => s.outcome !== undefined), 90_000);
    const open = await status();
    expect(open.severity).toBe('P0');
    expect(open.alertsReceived).toBe(3);
    expect(open.onCall).toMatchObject({ shift: 'now', oncall: 'carol', notify: ['oncall-sms'] });
    expect(open.runbook.map((s) => [s.id, s.outcome])).toEqual([
      ['restart-web-server', 'ok'],
      ['failover-database', 'ok'],
      ['activate-backup-servers', 'ok'],
      ['diagnostics', 'ok'],
    ]);
    expect(open.timeline.some((e) => /primary main answers SELECT 1/.test(e.message))).toBe(true);

    const ack = await stack.cli(['-c', configPath, 'incident', 'ack', workflowId, '--by', 'alice']);
    expect(ack.stderr).toBe('');
    expect(ack.code).toBe(0);
    await waitFor(
      'PagerDuty acknowledge',
      () => pd.requests.some((r) => r.json.event_action === 'acknowledge'),
      60_000,
    );

    const resolved = await post(alert('resolved', '0a1b2c3d4e5f'));
    expect(resolved.json.incidents).toEqual([{ workflowId, status: 'resolved', result: 'resolve sent' }]);
    const result = await handle.result();
    expect(result).toMatchObject({ severity: 'P0', state: 'resolved', owner: 'alice', postmortemStored: true });
    recordHistory(stack.temporalAddress(), workflowId, 'incident-p0-alertmanager');

    // exactly one run for the fingerprint, whatever the number of alerts
    let runs = 0;
    for await (const _w of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs++;
    expect(runs).toBe(1);

    // one message per event at each receiver: opened, then resolved (PagerDuty: trigger, acknowledge, resolve)
    expect(pd.requests.map((r) => r.json.event_action)).toEqual(['trigger', 'acknowledge', 'resolve']);
    expect(new Set(pd.requests.map((r) => r.json.dedup_key)).size).toBe(1);
    expect(pd.requests[0].json.payload.severity).toBe('critical');
    expect(events(slack.requests)).toEqual(['opened', 'resolved']);
    expect(events(ops.requests)).toEqual(['opened', 'resolved']);
    expect(ops.attempts.length).toBe(3); // the first delivery got a 500 after being recorded; its retry was dropped by key
    expect(events(biz.requests)).toEqual(['opened', 'resolved']);
    expect(sms.requests.map((r) => new URLSearchParams(r.body).get('Body')?.slice(0, 7))).toEqual([
      '[P0] IN',
      'RESOLVE',
    ]);
    expect(smtp.messages.map((m) => m.subject.replace(/INC-\d+/, 'INC'))).toEqual([
      '[URGENT] [P0] INC: checkout web server is down',
      '[info] RESOLVED [P0] INC: checkout web server is down',
    ]);
    expect(slack.requests[0].json.text).toContain('war room: https://meet.example.test/war-room');

    // the record and its postmortem in PostgreSQL
    const row = (await pg.query(`SELECT * FROM "${schema}".incidents WHERE workflow_id = $1`, [workflowId])).rows;
    expect(row).toHaveLength(1);
    expect(row[0]).toMatchObject({
      id: result.id,
      state: 'resolved',
      owner: 'alice',
      severity: 'P0',
      fingerprint: '0a1b2c3d4e5f',
      source: 'alertmanager',
    });
    expect(Object.keys(row[0].diagnostics)).toEqual(expect.arrayContaining(['host', 'command:uname', 'postgres:main']));
    expect(row[0].diagnostics['command:uname'].exitCode).toBe(0);
    const pm: string = row[0].postmortem;
    expect(pm).toContain(`# Postmortem ${result.id}: checkout web server is down`);
    expect(pm).toContain('| restarted edge-nginx | ok |');
    expect(pm).toContain('| restarted web-app | ok |');
    expect(pm).toContain('| backup server backup1 ready on edge | ok |');
    expect(pm).toMatch(/\| web healthy after restart \(HTTP 200 in \d+ ms\) \| ok \|/);
    expect(pm).toMatch(/\| time to acknowledge \| 15 min \| [\d.]+ min \| met \|/);

    // the CLI reads the store
    const list = await stack.cli(['-c', configPath, 'incident', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`${result.id}\tP0\tresolved`);
    const show = await stack.cli(['-c', configPath, 'incident', 'show', result.id]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`# Postmortem ${result.id}`);
  });

  test("the receiver: wrong token 401, a payload that is not Alertmanager's 400 with the reason; neither starts anything", async () => {
    const wrong = await post(alert('firing', 'feedbeef01'), 'not-the-token');
    expect(wrong.status).toBe(401);
    const bad = await post({ ...alert('firing', 'feedbeef02'), version: '3' });
    expect(bad.status).toBe(400);
    expect(bad.json.reason).toMatch(/version/);
    const noStart = alert('firing', 'feedbeef03');
    delete (noStart.alerts[0] as { startsAt?: string }).startsAt;
    const missing = await post(noStart);
    expect(missing.status).toBe(400);
    expect(missing.json.reason).toMatch(/alerts\.0\.startsAt/);
    const notJson = await post('{"version": ');
    expect(notJson.status).toBe(400);
    for (const fp of ['feedbeef01', 'feedbeef02', 'feedbeef03']) {
      await expect(stack.client.workflow.getHandle(`incident-${fp}`).describe()).rejects.toThrow(/not found/i);
    }
  });

  test('the documented `temporal workflow start` opens an incident', async () => {
    const input = {
      title: 'checkout errors at 60%',
      type: 'error_rate',
      services: ['web-server'],
      metrics: { errorRate: 60 },
      labels: { env: 'prod' },
    };
    execFileSync(
      temporalCliPath()!,
      [
        'workflow',
        'start',
        '--address',
        stack.temporalAddress(),
        '--type',
        'incidentResponseWorkflow',
        '--task-queue',
        'opsflow',
        '--workflow-id',
        'incident-temporal-cli',
        '--input',
        JSON.stringify(input),
        ...(await stack.temporalCodecArgs()),
      ],
      { encoding: 'utf8' },
    );
    const handle = stack.client.workflow.getHandle('incident-temporal-cli');
    await waitFor(
      'classified',
      async () => (await handle.query(statusQuery)).timeline.some((e) => e.kind === 'classified'),
      30_000,
    );
    const s = await handle.query(statusQuery);
    expect(s.severity).toBe('P0');
    expect(s.severityReason).toBe('error rate > 50%');
    await handle.signal(resolveSignal, { by: 'ops' });
    expect((await handle.result()).state).toBe('resolved');
  });

  test('a config with an unknown severity rule stops the worker at start, naming the field', async () => {
    const bad = writeConfig({
      incident: {
        severityRules: [
          { severity: 'P5', type: 'disk_full' },
          { severity: 'P1', when: 'always' },
        ],
      },
    });
    const { child, output } = stack.spawnWorkerProcess(bad);
    const code = await new Promise<number | null>((resolveExit) => child.once('close', (c) => resolveExit(c)));
    expect(code).toBe(1);
    expect(output()).toMatch(/incident\.severityRules\.0\.severity/);
    expect(output()).toMatch(/incident\.severityRules\.1: Unrecognized key: "when"/);
  });

  test('opsflow incident open: bad input names the field and starts nothing; good input opens a P2', async () => {
    const bad = await stack.cli([
      '-c',
      configPath,
      'incident',
      'open',
      '--title',
      'x',
      '--type',
      'Bad Type',
      '--metric',
      'errorRate=9',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/type: a lower-case type/);
    const ok = await stack.cli([
      '-c',
      configPath,
      'incident',
      'open',
      '--title',
      'checkout slow',
      '--type',
      'latency',
      '--metric',
      'responseTimeMs=6000',
      '--id',
      'incident-cli-1',
    ]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const handle = stack.client.workflow.getHandle('incident-cli-1');
    await waitFor(
      'classified',
      async () => (await handle.query(statusQuery)).timeline.some((e) => e.kind === 'classified'),
      30_000,
    );
    expect((await handle.query(statusQuery)).severity).toBe('P2');
    const resolved = await stack.cli(['-c', configPath, 'incident', 'resolve', 'incident-cli-1', '--by', 'carol']);
    expect(resolved.code).toBe(0);
    expect((await handle.result()).state).toBe('resolved');
    recordHistory(stack.temporalAddress(), 'incident-cli-1', 'incident-p2-cli');
  });
});

import { randomBytes } from 'node:crypto';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { Stack, writeConfig } from '../helpers/stack';
import { HttpReceiver } from '../helpers/http-receiver';
import { EchoingApi } from '../helpers/echoing-api';
import { RunbookApis, userOf } from '../helpers/cutover-fixtures';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, requirePostgres } from '../helpers/services';
import { waitFor } from '../helpers/ports';
import { testToken } from '../helpers/tokens';

/**
 * Every kind of secret the config resolves, each echoed back by the system it is sent to, in real
 * runs on the dev server with a worker process as production runs it: an LB API, a directory and a
 * routing API, webhook, PagerDuty, Slack and SMS receivers that put the credential they got in their
 * error body, an SMTP server that answers a login with the password, and PostgreSQL failing a
 * password user's login with the password in its error. Afterwards no workflow history on the
 * server, no notification received and no line the worker logged holds any of them.
 */
describe('no secret in history, even when a system echoes it', () => {
  let stack: Stack;
  const pg = new PgScratch('echo_e2e');
  const role = `opsflow_echo_${randomBytes(4).toString('hex')}`;
  const secrets = {
    OPSFLOW_ECHO_LB: testToken('lb'),
    OPSFLOW_ECHO_DIRECTORY: testToken('directory'),
    OPSFLOW_ECHO_ROUTER: testToken('router'),
    OPSFLOW_ECHO_STATS: testToken('stats'),
    OPSFLOW_ECHO_SMTP: testToken('smtp'),
    OPSFLOW_ECHO_PG: testToken('pg'),
    OPSFLOW_ECHO_WEBHOOK: testToken('webhook'),
    OPSFLOW_ECHO_PAGERDUTY: testToken('pagerduty'),
    OPSFLOW_ECHO_SLACK: '',
    OPSFLOW_ECHO_SMS: testToken('sms'),
  };
  /** The random part of each secret: found anywhere, even as a fragment, it is a leak. */
  const fragments = () => Object.values(secrets).map((s) => s.slice(-24));
  let echo: EchoingApi;
  let refusingLb: EchoingApi;
  let directory: RunbookApis;
  let ops: HttpReceiver;
  let smtp: SMTPServer;
  let smtpPort = 0;
  let worker: ReturnType<Stack['spawnWorkerProcess']>;

  beforeAll(async () => {
    await requirePostgres();
    echo = await new EchoingApi(401).start();
    // The LB adapter keeps the body of a refused request (4xx other than 401/403) in its failure.
    refusingLb = await new EchoingApi(400).start();
    secrets.OPSFLOW_ECHO_SLACK = `${echo.url}/slack/services/${testToken('slack')}`;
    directory = new RunbookApis(
      secrets.OPSFLOW_ECHO_DIRECTORY,
      Array.from({ length: 20 }, (_, k) => userOf(k + 1)),
    );
    await directory.start();
    ops = await new HttpReceiver().start();
    // An SMTP server that refuses the login and says which password it was given.
    smtp = new SMTPServer({
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth: (auth, _session, cb) =>
        cb(
          Object.assign(new Error(`authentication failed for ${auth.username} with password ${auth.password}`), {
            responseCode: 535,
          }),
        ),
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
    smtpPort = ((smtp as unknown as { server: { address(): AddressInfo } }).server.address() as AddressInfo).port;
    // A password user whose login fails with its password in the error: PostgreSQL made to echo it
    // (a session library it cannot load, named by the password), as a server under attack or a
    // misconfigured proxy might.
    await pg.query(`CREATE ROLE ${role} LOGIN PASSWORD '${secrets.OPSFLOW_ECHO_PG}'`);
    await pg.query(`ALTER ROLE ${role} SET session_preload_libraries = '${secrets.OPSFLOW_ECHO_PG}'`);
    const schema = await pg.schema();

    const config = {
      postgres: { main: pgConnection, guarded: { ...pgConnection, user: role, password: { env: 'OPSFLOW_ECHO_PG' } } },
      loadBalancers: { edge: { type: 'http-api', url: refusingLb.url, token: { env: 'OPSFLOW_ECHO_LB' } } },
      metricSources: {
        prom: { type: 'prometheus', url: echo.url, token: { env: 'OPSFLOW_ECHO_STATS' } },
        stats: { type: 'http-stats', url: `${echo.url}/stats`, token: { env: 'OPSFLOW_ECHO_STATS' } },
      },
      directories: {
        hr: { type: 'http', url: directory.url, token: { env: 'OPSFLOW_ECHO_DIRECTORY' } },
        'hr-echo': { type: 'http', url: `${echo.url}/api`, token: { env: 'OPSFLOW_ECHO_DIRECTORY' } },
      },
      routers: { routing: { type: 'http', url: `${echo.url}/api`, token: { env: 'OPSFLOW_ECHO_ROUTER' }, retries: 0 } },
      cutover: { store: { postgres: 'main', schema } },
      notifiers: {
        ops: { type: 'webhook', url: `${ops.url}/ops` },
        hook: { type: 'webhook', url: `${echo.url}/hook`, token: { env: 'OPSFLOW_ECHO_WEBHOOK' } },
        pd: {
          type: 'pagerduty',
          url: `${echo.url}/pd`,
          routingKey: { env: 'OPSFLOW_ECHO_PAGERDUTY' },
          source: 'opsflow-e2e',
        },
        slack: { type: 'slack', webhookUrl: { env: 'OPSFLOW_ECHO_SLACK' } },
        sms: {
          type: 'sms',
          baseUrl: echo.url,
          accountSid: 'AC1',
          authToken: { env: 'OPSFLOW_ECHO_SMS' },
          from: '+15550000000',
          to: ['+15551234567'],
        },
        mail: {
          type: 'email',
          host: '127.0.0.1',
          port: smtpPort,
          user: 'opsflow',
          password: { env: 'OPSFLOW_ECHO_SMTP' },
          from: 'opsflow@example.test',
          to: ['ops@example.test'],
        },
      },
    };
    stack = await Stack.start();
    worker = stack.spawnWorkerProcess(writeConfig(config), { ...secrets, OPSFLOW_LOG_LEVEL: 'WARN' });
    await waitFor('the worker polls', () => worker.output().includes('task queue'), 60_000);
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([
      echo?.stop(),
      refusingLb?.stop(),
      directory?.stop(),
      ops?.stop(),
      new Promise((r) => smtp?.close(() => r(undefined))),
    ]);
    await pg.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await pg.drop();
  }, 60_000);

  /** Runs a workflow to its end (these all fail) and returns how it ended. */
  async function run(workflowType: string, workflowId: string, input: unknown): Promise<string> {
    const handle = await stack.client.workflow.start(workflowType, { taskQueue: 'opsflow', workflowId, args: [input] });
    return handle.result().then(
      (r) => `completed: ${JSON.stringify(r)}`,
      (e: Error & { cause?: Error }) => `failed: ${e.cause?.message ?? e.message}`,
    );
  }

  const batch = {
    name: 'IT',
    cohort: { department: ['IT'] },
    startAt: '+1s',
    thresholds: { errorRatePercent: 10 },
    window: '1s',
  };
  const cutover = (service: string, dir: string) => ({
    service,
    directory: dir,
    router: 'routing',
    metricSources: ['stats'],
    notify: ['ops'],
    sampleInterval: '1s',
    minGap: '1s',
    batches: [batch],
  });

  test('echoed by a database, an LB API, a directory, a routing API and every kind of notifier: nowhere in history, notifications or logs', async () => {
    const endings: Record<string, string> = {};
    // A failing PostgreSQL check, reported to `ops` and to one echoing notifier per run.
    for (const notifier of ['hook', 'pd', 'slack', 'sms', 'mail']) {
      endings[notifier] = await run('healthCheckWorkflow', `health-echo-${notifier}`, {
        targets: { resources: false, http: [], postgres: ['guarded'], redis: [], hosts: [] },
        notify: ['ops', notifier],
      });
    }
    endings.rollout = await run('phasedRolloutWorkflow', 'rollout-echo-api', {
      service: 'echo-api',
      lb: 'edge',
      backends: { old: 'old_system', new: 'new_system' },
      metricSources: ['prom'],
      gate: { errorRatePercent: 5 },
      sampleInterval: '1s',
      steps: [
        { weight: 10, window: '1s' },
        { weight: 100, window: '1s' },
      ],
      notify: ['ops'],
    });
    endings.directory = await run(
      'userCutoverWorkflow',
      'cutover-echo-directory',
      cutover('echo-directory', 'hr-echo'),
    );
    endings.router = await run('userCutoverWorkflow', 'cutover-echo-router', cutover('echo-router', 'hr'));

    // Each system was asked with its secret and echoed it, and each run failed on that answer.
    for (const [what, ending] of Object.entries(endings))
      expect([what, ending.startsWith('failed: ')]).toEqual([what, true]);
    expect(echo.requests.map((r) => r.path)).toEqual(
      expect.arrayContaining([
        '/hook',
        '/pd',
        '/api/users/filter',
        `/slack/services/${secrets.OPSFLOW_ECHO_SLACK.split('/').pop()}`,
      ]),
    );
    expect(echo.requests.some((r) => r.path.startsWith('/api/routing/user/'))).toBe(true);
    expect(refusingLb.requests.length).toBeGreaterThan(0);
    // What is not a secret stays readable: the names of the systems that refused.
    expect(endings.directory).toContain('directory hr-echo answered HTTP 401');
    expect(endings.pd).toContain('pagerduty pd answered HTTP 401');

    // Every history on the server, each event's payloads decoded: no secret, not even a fragment.
    const histories: Record<string, string> = {};
    const runs = await waitFor('every run listed', async () => {
      const listed = [];
      for await (const wf of stack.client.workflow.list()) listed.push(wf);
      return listed.length >= 8 ? listed : undefined;
    });
    for (const wf of runs) {
      const history = await stack.decodedHistory(
        await stack.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory(),
      );
      histories[`${wf.workflowId}/${wf.runId}`] = JSON.stringify(history, (k, v) =>
        v instanceof Uint8Array
          ? Buffer.from(v).toString('utf8')
          : k === 'data' && typeof v === 'string'
            ? Buffer.from(v, 'base64').toString('utf8')
            : v,
      );
    }
    expect(Object.keys(histories).length).toBeGreaterThanOrEqual(8);
    const all = Object.values(histories).join('\n');
    // The echoes did reach history, scrubbed: the failures say what the systems answered.
    const scrubbedEchoes = [
      /could not access file \\*"\[redacted\]/, // PostgreSQL
      /authentication failed for opsflow with password \[redacted\]/, // SMTP
      /routing_key[^a-z0-9]+\[redacted\]/, // PagerDuty
      /invalid or revoked credentials: AC1:\[redacted\]/, // SMS (Basic credentials)
      /on \[redacted\]; request began/, // Slack (the path of its URL)
      /LB API edge: GET \/api\/config answered HTTP 400: [^\n]{0,80}\[redacted\]/,
      // (160: in the encrypted mode the answer's quotes sit one JSON level deeper, each escaped twice more)
      /directory hr-echo answered HTTP 401 [^\n]{0,160}\[redacted\]/,
    ];
    expect(scrubbedEchoes.filter((re) => !re.test(all)).map((re) => re.source)).toEqual([]);
    for (const [id, text] of Object.entries(histories)) {
      expect([id, fragments().filter((f) => text.includes(f))]).toEqual([id, []]);
    }

    // The notifications `ops` received carry the failures, scrubbed.
    expect(ops.requests.length).toBeGreaterThanOrEqual(5);
    const received = ops.requests.map((r) => r.body).join('\n');
    expect(received).toContain('[redacted]');
    expect(fragments().filter((f) => received.includes(f))).toEqual([]);

    // And the worker's own log lines (the SDK logs each failed activity with its error).
    const logged = worker.output();
    expect(logged).toContain('Activity failed');
    expect(fragments().filter((f) => logged.includes(f))).toEqual([]);
  }, 240_000);
});

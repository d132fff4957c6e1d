import { join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client as PgClient } from 'pg';
import { request } from 'undici';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { writeConfig } from '../helpers/stack';
import { waitFor, waitForPort, freePort } from '../helpers/ports';
import { pgConnection, requirePostgres } from '../helpers/services';
import { ProcessGroup } from '../helpers/processes';
import { TemporalProcess } from '../helpers/temporal-process';
import { workflowBundle } from '../helpers/temporal';
import { createWorker } from '../../src/worker';
import { parseConfigText } from '../../src/config/load';
import { testToken } from '../helpers/tokens';
import { encryptionModeOn, withTestEncryption } from '../helpers/encrypted-histories';
import { dataConverterFor } from '../../src/client/codec/data-converter';
import { resolveSignal, statusQuery } from '../../src/workflows/incident/messages';

const root = resolve(__dirname, '../..');
const run = promisify(execFile);
const TOKEN = testToken('alert-receiver-e2e');

/**
 * `opsflow alerts serve` as its own process against a Temporal dev server that this file can stop
 * and start again: alerts of any size open one incident whose store row keeps the whole alert,
 * every refusal is logged without the token, the log says whether an alert opened or joined its
 * incident, and while Temporal is away the answer is 503 (Alertmanager retries) until it is back.
 */
describe('alert receiver end to end (dev server process)', () => {
  const temporal = new TemporalProcess();
  const procs = new ProcessGroup();
  const schema = `opsflow_test_receiver_${process.pid}_${Date.now() % 100000}`;
  let config: Record<string, unknown>;
  let client: Client;
  let worker: { worker: Worker; running: Promise<void>; connection: NativeConnection } | undefined;
  let pg: PgClient;
  let receiverUrl = '';
  let receiverLog = () => '';

  let configPath = '';

  /** `opsflow alerts serve` as its own process, on a port of its own. */
  const startReceiver = async () => {
    const port = await freePort();
    const child = procs.spawn(
      join(root, 'node_modules/.bin/tsx'),
      [join(root, 'src/client/cli.ts'), '-c', configPath, 'alerts', 'serve', '--port', String(port)],
      {
        cwd: root,
        env: { ...process.env, TEMPORAL_ADDRESS: temporal.address },
      },
    );
    const log = ProcessGroup.output(child);
    await waitForPort(port, '127.0.0.1', 60_000).catch((e) => {
      throw new Error(`${e.message}\n${log()}`);
    });
    return { url: `http://127.0.0.1:${port}/alertmanager`, log };
  };

  const startWorker = async () => {
    const connection = await NativeConnection.connect({ address: temporal.address });
    // In the suite's encrypted mode the worker and the test's client share the receiver's key.
    const w = await createWorker({
      config: parsedConfig(),
      connection,
      workflowBundle: await workflowBundle({ encrypted: encryptionModeOn() }),
    });
    worker = { worker: w, running: w.run(), connection };
  };
  const parsedConfig = () =>
    parseConfigText(JSON.stringify(encryptionModeOn() ? withTestEncryption(config) : config), 'receiver-e2e.json');
  const stopWorker = async () => {
    if (!worker) return;
    worker.worker.shutdown();
    await worker.running.catch(() => undefined);
    await worker.connection.close();
    worker = undefined;
  };

  // One connection per post: a kept-alive one can be closed by the receiver's idle timeout just as
  // the next post goes out on it ("other side closed"), a race a loaded machine's late timers widen.
  const post = async (body: unknown, authorization: string | null = `Bearer ${TOKEN}`, url = receiverUrl) => {
    const res = await request(url, {
      method: 'POST',
      reset: true,
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.statusCode, json: (await res.body.json()) as any };
  };

  const payload = (
    status: 'firing' | 'resolved',
    fingerprint: string,
    labels: Record<string, string> = {},
    annotations: Record<string, string> = {},
  ) => ({
    version: '4',
    groupKey: '{}:{alertname="DiskAlmostFull"}',
    truncatedAlerts: 0,
    status,
    receiver: 'opsflow',
    groupLabels: { alertname: 'DiskAlmostFull' },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.local:9093',
    alerts: [
      {
        status,
        // P3: recorded for the digest, nobody is paged, no runbook — the receiver is what is tested here.
        labels: { alertname: 'DiskAlmostFull', opsflow_severity: 'P3', ...labels },
        annotations: { summary: 'disk almost full', ...annotations },
        startsAt: '2026-01-15T10:00:00Z',
        endsAt: status === 'resolved' ? '2026-01-15T10:30:00Z' : '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.local:9090/graph?g0.expr=disk',
        fingerprint,
      },
    ],
  });

  const row = async (workflowId: string) =>
    (await pg.query(`SELECT * FROM "${schema}".incidents WHERE workflow_id = $1`, [workflowId])).rows;
  const logLines = (re: RegExp) =>
    receiverLog()
      .split('\n')
      .filter((l) => re.test(l));

  beforeAll(async () => {
    await requirePostgres();
    try {
      Runtime.install({ logger: new DefaultLogger('ERROR') });
    } catch {
      // installed by an earlier file in this process
    }
    await temporal.start();
    process.env.OPSFLOW_TEST_RECEIVER_TOKEN = TOKEN;
    config = {
      postgres: { main: { ...pgConnection } },
      incident: { store: { postgres: 'main', schema }, receiver: { token: { env: 'OPSFLOW_TEST_RECEIVER_TOKEN' } } },
    };
    configPath = writeConfig(config);
    pg = new PgClient(pgConnection);
    await pg.connect();
    client = new Client({
      connection: await Connection.connect({ address: temporal.address }),
      ...(encryptionModeOn() ? { dataConverter: dataConverterFor(parsedConfig(), 'default') } : {}),
    });
    await startWorker();
    ({ url: receiverUrl, log: receiverLog } = await startReceiver());
  });

  afterAll(async () => {
    await procs.stopAll();
    await stopWorker();
    await client?.connection.close();
    await temporal.stop();
    await pg?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await pg?.end();
  });

  test('over-long label name and value, summary and description: 200, one incident, every label, the whole text in its evidence; the log says opened, then joined', async () => {
    const fp = 'a1b2c3d4e5f60001';
    const workflowId = `incident-${fp}`;
    const longName = `annotation_like_label_${'n'.repeat(150)}`;
    const longValue = `value-${'v'.repeat(5000)}`;
    const summary = `summary ${'s'.repeat(300)}`;
    const description = `description ${'d'.repeat(10_000)} end`;
    const body = payload(
      'firing',
      fp,
      { env: 'prod', [longName]: 'named long', runbook: longValue },
      { summary, description },
    );

    const first = await post(body);
    expect(first.status).toBe(200);
    expect(first.json.incidents).toEqual([
      { workflowId, status: 'firing', result: 'opened', severity: 'P3', severityReason: 'opsflow_severity label' },
    ]);
    const second = await post(body);
    expect(second.status).toBe(200);
    expect(second.json.incidents).toEqual([
      { workflowId, status: 'firing', result: 'joined', severity: 'P3', severityReason: 'opsflow_severity label' },
    ]);
    await waitFor(
      'the log names both outcomes',
      () => logLines(new RegExp(`${workflowId} firing (opened|joined)`)).length === 2,
    );
    expect(logLines(new RegExp(`${workflowId} firing`)).map((l) => / firing (opened|joined)\b/.exec(l)?.[1])).toEqual([
      'opened',
      'joined',
    ]);

    const handle = client.workflow.getHandle(workflowId);
    await waitFor('both alerts counted', async () => (await handle.query(statusQuery)).alertsReceived === 2, 60_000);
    const [r] = await waitFor(
      'the incident row with its evidence',
      async () => {
        const rows = await row(workflowId);
        return rows.length && rows[0].alert ? rows : undefined;
      },
      60_000,
    );

    // display columns: cut, with the marker, every label present
    expect(r.title).toHaveLength(200);
    expect(r.title.endsWith('…[truncated, 308 chars]')).toBe(true);
    expect(Object.keys(r.labels)).toHaveLength(5);
    expect(r.labels.env).toBe('prod');
    expect(r.labels.runbook.endsWith('…[truncated, 5 006 chars]')).toBe(true);
    expect(Object.entries(r.labels).find(([k]) => k.startsWith('annotation_like_label_'))).toEqual([
      expect.stringMatching(/…\[truncated, 172 chars\]$/),
      'named long',
    ]);
    // evidence: the whole alert
    expect(r.alert.labels).toEqual({
      alertname: 'DiskAlmostFull',
      opsflow_severity: 'P3',
      env: 'prod',
      [longName]: 'named long',
      runbook: longValue,
    });
    expect(r.alert.annotations.description).toBe(description);
    expect(r.alert.annotations.summary).toBe(summary);
    expect(r.fingerprint).toBe(fp);
    // and the CLI shows it: counted in the text view, whole in --json
    // Asynchronously: this process's worker must go on (a store write may be in flight, holding the
    // table the CLI reads) while the CLI runs; a synchronous call would wait on it forever.
    const cli = async (...args: string[]) =>
      (
        await run(
          join(root, 'node_modules/.bin/tsx'),
          [join(root, 'src/client/cli.ts'), '-c', configPath, 'incident', 'show', ...args],
          { cwd: root, encoding: 'utf8', timeout: 60_000 },
        )
      ).stdout;
    expect(await cli(workflowId)).toContain('alert evidence: 5 labels, 2 annotations, whole (--json shows them)');
    expect(JSON.parse(await cli(workflowId, '--json')).alert.annotations.description).toBe(description);

    const resolved = await post(payload('resolved', fp));
    expect(resolved.json.incidents).toEqual([{ workflowId, status: 'resolved', result: 'resolve sent' }]);
    expect((await handle.result()).state).toBe('resolved');
    let runs = 0;
    for await (const _w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs++;
    expect(runs).toBe(1);
  });

  test('every 401 is logged with the remote address and the reason, never a token; nothing starts', async () => {
    const body = payload('firing', 'feedbeef0401');
    const wrongToken = testToken('wrong');
    expect((await post(body, `Bearer ${wrongToken}`)).status).toBe(401);
    expect((await post(body, null)).status).toBe(401);
    expect((await post(body, `Basic ${Buffer.from(`am:${TOKEN}`).toString('base64')}`)).status).toBe(401);
    await waitFor('three 401 lines', () => logLines(/ 401 /).length === 3);
    const lines = logLines(/ 401 /);
    expect(lines[0]).toMatch(/^alert receiver: 401 POST \/alertmanager from 127\.0\.0\.1:\d+: wrong bearer token$/);
    expect(lines[1]).toMatch(/from 127\.0\.0\.1:\d+: no Authorization header$/);
    expect(lines[2]).toMatch(/from 127\.0\.0\.1:\d+: Authorization is not "Bearer <token>"$/);
    expect(receiverLog()).not.toContain(wrongToken);
    expect(receiverLog()).not.toContain(TOKEN);
    expect(receiverLog()).not.toContain(Buffer.from(`am:${TOKEN}`).toString('base64'));
    await expect(client.workflow.getHandle('incident-feedbeef0401').describe()).rejects.toThrow(/not found/i);
  });

  test('while Temporal is away the answer is 503, logged, also from a receiver started while it was away; once it is back the same payloads open their incidents', async () => {
    const body = payload('firing', 'c0ffee000503');
    const bodyLate = payload('firing', 'c0ffee000504');
    await stopWorker();
    await temporal.stop();

    const away = await post(body);
    expect(away.status).toBe(503);
    expect(away.json.error).toMatch(/^Temporal unavailable: /);
    await waitFor(
      'the 503 logged',
      () =>
        logLines(/^alert receiver: 503 POST \/alertmanager from 127\.0\.0\.1:\d+: Temporal unavailable: /).length === 1,
    );

    // a receiver started while Temporal is away listens all the same and answers 503
    const late = await startReceiver();
    // the port accepts a moment before the line reaches the log: wait for the line, bounded
    await waitFor('the late receiver logs that it listens', () => /opsflow alerts: listening on /.test(late.log()));
    const lateAway = await post(bodyLate, undefined, late.url);
    expect(lateAway.status).toBe(503);
    await waitFor('the late receiver logs its 503', () =>
      /alert receiver: 503 POST \/alertmanager from 127\.0\.0\.1:\d+: Temporal unavailable: /.test(late.log()),
    );

    await temporal.start();
    await startWorker();
    // As Alertmanager does: the same payload again until it is taken (each receiver reconnects on its own).
    for (const [b, url] of [
      [body, receiverUrl],
      [bodyLate, late.url],
    ] as const) {
      const workflowId = `incident-${b.alerts[0].fingerprint}`;
      const back = await waitFor(
        `${url} answers 200 again`,
        async () => {
          const r = await post(b, undefined, url);
          return r.status === 200 ? r : undefined;
        },
        90_000,
        2_000,
      );
      expect(back.json.incidents).toEqual([
        { workflowId, status: 'firing', result: 'opened', severity: 'P3', severityReason: 'opsflow_severity label' },
      ]);
      const handle = client.workflow.getHandle(workflowId);
      await waitFor(
        'classified',
        async () => (await handle.query(statusQuery)).timeline.some((e) => e.kind === 'classified'),
        60_000,
      );
      expect((await handle.query(statusQuery)).severity).toBe('P3');
      await handle.signal(resolveSignal, { by: 'ops' });
      expect((await handle.result()).state).toBe('resolved');
    }
  });
});

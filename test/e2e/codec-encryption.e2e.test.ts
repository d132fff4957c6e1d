import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Stack, writeConfig } from '../helpers/stack';
import { freePort, waitFor } from '../helpers/ports';
import { ProcessGroup } from '../helpers/processes';
import { testToken } from '../helpers/tokens';
import { LbApi } from '../helpers/lb-api-load-balancer';
import { temporalCliPath } from '../../scripts/temporal-binaries';

const run = promisify(execFile);
const root = resolve(__dirname, '../..');

/** Every payload's data in a history (or a codec answer), base64-decoded and joined: what a reader of the database sees. */
function readablePayloads(value: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (typeof o.data === 'string' && o.metadata && typeof o.metadata === 'object')
      out.push(Buffer.from(o.data, 'base64').toString('latin1'));
    Object.values(o).forEach(walk);
  };
  walk(value);
  return out.join('\n');
}

/**
 * Payload encryption end to end on the dev server: the raw history holds no readable input, result
 * or failure text; the CLI and the codec server (as the Web UI and `temporal --codec-endpoint` call
 * it) decode them; keys rotate without losing old runs; a payload is bound to its namespace; the
 * codec server refuses requests without the token and logs every decode without a payload.
 */
describe('payload encryption and the codec server', () => {
  const marker = `m${randomBytes(6).toString('hex')}`; // the target's name: in inputs and results only
  const failMarker = `nope${randomBytes(6).toString('hex')}`;
  const keyEnv = {
    OPSFLOW_CODEC_E2E_K1: randomBytes(32).toString('base64'),
    OPSFLOW_CODEC_E2E_K2: randomBytes(32).toString('hex'),
  };
  const token = testToken('codec-e2e');
  const uiOrigin = 'http://localhost:8233';
  const processes = new ProcessGroup();
  let stack: Stack;
  let web: Server;
  let codecPort: number;
  let codecLog: () => string;
  let k1Config: string;
  let rotatedConfig: string;
  let k2OnlyConfig: string;
  let http: Record<string, unknown>;
  let lb: LbApi;
  let workerConfig: (keys: string[], current: string) => Record<string, unknown>;

  const encryption = (keys: string[], current: string) => ({
    keys: keys.map((id) => ({ id, key: { env: `OPSFLOW_CODEC_E2E_${id.toUpperCase()}` } })),
    current,
    codecServer: { host: '127.0.0.1', port: 0, origins: [uiOrigin], token: { env: 'OPSFLOW_CODEC_E2E_TOKEN' } },
  });
  const input = (name: string) =>
    JSON.stringify({ targets: { resources: false, http: [name], postgres: [], redis: [], hosts: [] } });
  const rawHistory = async (workflowId: string, codec = false) => {
    const args = ['workflow', 'show', '-w', workflowId, '-o', 'json', '--address', stack.temporalAddress()];
    if (codec) args.push('--codec-endpoint', `http://127.0.0.1:${codecPort}`, '--codec-auth', `Bearer ${token}`);
    const { stdout } = await run(temporalCliPath()!, args, { maxBuffer: 64 * 1024 * 1024 });
    return JSON.parse(stdout) as { events: Array<Record<string, any>> };
  };
  const startedInput = (h: { events: Array<Record<string, any>> }) =>
    h.events[0].workflowExecutionStartedEventAttributes.input.payloads;
  const codec = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${codecPort}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const authed = { authorization: `Bearer ${token}`, 'x-namespace': 'default', origin: uiOrigin };

  beforeAll(async () => {
    Object.assign(process.env, keyEnv, { OPSFLOW_CODEC_E2E_TOKEN: token });
    const port = await freePort();
    web = createServer((_q, r) => r.writeHead(200).end('ok')).listen(port, '127.0.0.1');
    http = { [marker]: { url: `http://127.0.0.1:${port}/health` } };
    // The CLI's configs also name the failing target, so that the name passes the CLI's check and
    // the worker's planning (whose config lacks it) fails the run with a message that quotes it.
    const cliHttp = { ...http, [failMarker]: { url: `http://127.0.0.1:${port}/health` } };
    lb = await new LbApi(token).start();
    const rollout = {
      loadBalancers: {
        api: { type: 'http-api', url: `http://127.0.0.1:${lb.port}`, token: { env: 'OPSFLOW_CODEC_E2E_TOKEN' } },
      },
      metricSources: { host: { type: 'host' } },
    };
    workerConfig = (keys, current) => ({ http, ...rollout, encryption: encryption(keys, current) });
    const config = (keys: string[], current: string) =>
      writeConfig({ http: cliHttp, ...rollout, encryption: encryption(keys, current) });
    k1Config = config(['k1'], 'k1');
    rotatedConfig = config(['k1', 'k2'], 'k2');
    k2OnlyConfig = config(['k2'], 'k2');
    stack = await Stack.start({ ownEncryption: true });
    await stack.startWorker(workerConfig(['k1'], 'k1'));

    codecPort = await freePort();
    const child = processes.spawn(
      join(root, 'bin/opsflow'),
      ['-c', k1Config, 'codec', 'serve', '--port', String(codecPort)],
      {
        env: { ...process.env, TEMPORAL_NAMESPACE: 'default' },
      },
    );
    codecLog = ProcessGroup.output(child);
    await waitFor('the codec server to listen', () => codecLog().includes('opsflow codec: listening'), 60_000);
  }, 240_000);

  afterAll(async () => {
    await processes.stopAll();
    await stack?.stop();
    await lb?.stop();
    await new Promise((r) => (web ? web.close(r) : r(undefined)));
  });

  test('the raw history holds no readable input, result or failure text; the CLI decodes them', async () => {
    const ok = await stack.cli([
      '-c',
      k1Config,
      'start',
      'health-check',
      '--id',
      'codec-hc-1',
      '--input',
      input(marker),
      '--wait',
    ]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(marker);
    const failed = await stack.cli([
      '-c',
      k1Config,
      'start',
      'health-check',
      '--id',
      'codec-hc-fail',
      '--input',
      input(failMarker),
      '--wait',
    ]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`unknown http target "${failMarker}"`);

    for (const id of ['codec-hc-1', 'codec-hc-fail']) {
      const raw = await rawHistory(id);
      const text = JSON.stringify(raw) + readablePayloads(raw);
      expect(text).not.toContain(marker);
      expect(text).not.toContain(failMarker);
      expect(text).not.toContain('unknown http target');
      expect(text).not.toContain('"targets"');
      // every payload of the run is under the current key
      expect(Buffer.from(startedInput(raw)[0].metadata['opsflow-key-id'], 'base64').toString()).toBe('k1');
    }
    // The same histories through the codec server, as `temporal --codec-endpoint` reads them: readable.
    const decoded = readablePayloads(await rawHistory('codec-hc-1', true));
    expect(decoded).toContain(marker);
    expect(readablePayloads(await rawHistory('codec-hc-fail', true))).toContain(
      `unknown http target \\"${failMarker}\\"`,
    );
  });

  test('a rollout aborted by a person: the reason, the status and the failure are ciphertext in history and clear through the CLI', async () => {
    const reason = `reason${randomBytes(6).toString('hex')}`;
    const input = {
      service: 'codec-rollout',
      lb: 'api',
      backends: { old: 'old_system', new: 'new_system' },
      steps: [
        { weight: 10, window: '1h', approval: true },
        { weight: 100, window: '1h' },
      ],
      sampleInterval: '30m',
      metricSources: ['host'],
    };
    expect((await stack.cli(['-c', k1Config, 'start', 'phased-rollout', '--input', JSON.stringify(input)])).code).toBe(
      0,
    );
    await waitFor(
      'the rollout to wait for approval',
      async () => {
        const out = await stack.cli(['-c', k1Config, 'status', 'rollout-codec-rollout', '--json']);
        return out.code === 0 && JSON.parse(out.stdout).state === 'awaiting-approval';
      },
      60_000,
      500,
    );
    const abort = await stack.cli([
      '-c',
      k1Config,
      'signal',
      'rollout-codec-rollout',
      'abort', // message-name: deliberate: as the operator types it
      '--input',
      JSON.stringify({ by: 'bob', reason }),
    ]);
    expect(abort.code).toBe(0);
    const result = await stack.cli(['-c', k1Config, 'result', 'rollout-codec-rollout']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(reason);
    expect(lb.config.traffic_split).toEqual({ old_system: 100, new_system: 0 });
    const raw = await rawHistory('rollout-codec-rollout');
    expect(JSON.stringify(raw) + readablePayloads(raw)).not.toContain(reason);
    expect(readablePayloads(await rawHistory('rollout-codec-rollout', true))).toContain(reason);
  });

  test('the codec server decodes for the UI with the token, refuses without it, answers CORS only for the UI origin, and logs no payload', async () => {
    const payloads = startedInput(await rawHistory('codec-hc-1'));
    const res = await codec('/decode', { payloads }, authed);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(readablePayloads(await res.json())).toContain(marker);

    expect((await codec('/decode', { payloads }, { 'x-namespace': 'default' })).status).toBe(401);
    expect((await codec('/decode', { payloads }, { ...authed, authorization: `Bearer ${token}x` })).status).toBe(401);
    // a payload of namespace default does not decode as another namespace's
    const other = await codec('/decode', { payloads }, { ...authed, 'x-namespace': 'other' });
    expect(other.status).toBe(400);
    expect(await other.text()).toContain('does not decrypt in namespace \\"other\\"');

    const preflight = (origin: string) =>
      fetch(`http://127.0.0.1:${codecPort}/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,x-namespace',
        },
      });
    const good = await preflight(uiOrigin);
    expect(good.status).toBe(204);
    expect(good.headers.get('access-control-allow-headers')).toMatch(/Authorization.*X-Namespace/);
    const evil = await preflight('http://evil.localhost:9999');
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();

    await waitFor('the audit lines', () => codecLog().includes('wrong bearer token'), 10_000);
    const log = codecLog();
    expect(log).toMatch(/opsflow codec: decode 1 payload for token sha256:[0-9a-f]{12} namespace default from /);
    expect(log).toMatch(/refused decode from .* namespace default: no Authorization header/);
    expect(log).toMatch(/refused decode from .* namespace default: wrong bearer token/);
    expect(log).not.toContain(marker);
    expect(log).not.toContain(token);
  });

  test('an incident acknowledged and resolved by Updates: title, alert evidence and notes are ciphertext in history and clear through the codec server', async () => {
    const id = 'codec-incident-1';
    const title = `checkout down ${randomBytes(6).toString('hex')}`;
    const apiKey = `sk_live_${randomBytes(12).toString('hex')}`; // what a careless alert annotation carries
    const email = `oncall.${randomBytes(4).toString('hex')}@example.com`;
    const ackNote = `ack${randomBytes(6).toString('hex')}`;
    const resolveNote = `fixed${randomBytes(6).toString('hex')}`;
    const incident = {
      title,
      type: 'service_down',
      severity: 'P2',
      labels: { contact: email },
      description: `paged ${email}`,
      alert: { labels: { alertname: 'CheckoutDown' }, annotations: { runbook_token: apiKey, owner: email } },
    };
    const opened = await stack.cli([
      '-c',
      k1Config,
      'start',
      'incident',
      '--id',
      id,
      '--input',
      JSON.stringify(incident),
    ]);
    expect(opened.stderr).toBe('');
    expect(opened.code).toBe(0);
    // The CLI's acknowledge and resolve are the typed Updates (acknowledgeUpdate, resolveUpdate):
    // each answer is the run's status, so the update's argument and result both go through the codec.
    await waitFor(
      'the incident to take an acknowledgement',
      async () => {
        const out = await stack.cli(['-c', k1Config, 'acknowledge', id, '--by', 'alice', '--note', ackNote]);
        return out.code === 0 ? out : undefined;
      },
      60_000,
      500,
    );
    const resolved = await stack.cli(['-c', k1Config, 'resolve', id, '--by', 'alice', '--note', resolveNote]);
    expect(resolved.stderr).toBe('');
    expect(resolved.code).toBe(0);
    const result = await stack.cli(['-c', k1Config, 'result', id]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('resolved');

    const raw = await rawHistory(id);
    const kinds = raw.events.map((e) => e.eventType as string);
    expect(kinds).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED');
    expect(kinds).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    const clear = JSON.stringify(raw) + readablePayloads(raw);
    for (const secret of [title, apiKey, email, ackNote, resolveNote, 'CheckoutDown', 'alice'])
      expect(clear).not.toContain(secret);
    expect(Buffer.from(startedInput(raw)[0].metadata['opsflow-key-id'], 'base64').toString()).toBe('k1');

    // Every payload of the history, sent as the Web UI sends them: one POST /decode with its headers.
    const payloads: unknown[] = [];
    const collect = (v: unknown): void => {
      if (Array.isArray(v)) return v.forEach(collect);
      if (!v || typeof v !== 'object') return;
      const o = v as Record<string, unknown>;
      if (typeof o.data === 'string' && o.metadata && typeof o.metadata === 'object') payloads.push(o);
      else Object.values(o).forEach(collect);
    };
    collect(raw.events);
    const res = await codec('/decode', { payloads }, authed);
    expect(res.status).toBe(200);
    const decoded = readablePayloads(await res.json());
    for (const value of [title, apiKey, email, ackNote, resolveNote, 'CheckoutDown', 'alice'])
      expect(decoded).toContain(value);
    expect(decoded).toContain('"state":"resolved"');
    // the audit line counts the payloads, and holds none of them; it reaches us through the child's
    // stdout pipe, which may lag the HTTP answer
    const auditLine = `decode ${payloads.length} payloads for token`;
    await waitFor('the audit line of the whole-history decode', () => codecLog().includes(auditLine), 10_000);
    expect(codecLog()).toContain(auditLine);
    expect(codecLog()).not.toContain(apiKey);
    expect(codecLog()).not.toContain(email);
  });

  test('rotation: a new current key writes new runs, old runs stay readable while the old key is kept, and a missing key is named', async () => {
    await stack.stopWorker();
    await stack.startWorker(workerConfig(['k1', 'k2'], 'k2'));
    const started = await stack.cli([
      '-c',
      rotatedConfig,
      'start',
      'health-check',
      '--id',
      'codec-hc-2',
      '--input',
      input(marker),
      '--wait',
    ]);
    expect(started.code).toBe(0);
    const raw = await rawHistory('codec-hc-2');
    expect(Buffer.from(startedInput(raw)[0].metadata['opsflow-key-id'], 'base64').toString()).toBe('k2');
    expect(readablePayloads(raw)).not.toContain(marker);

    const old = await stack.cli(['-c', rotatedConfig, 'result', 'codec-hc-1']);
    expect(old.code).toBe(0);
    expect(old.stdout).toContain(marker);
    const without = await stack.cli(['-c', k2OnlyConfig, 'result', 'codec-hc-1']);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('payload encrypted with key "k1", which is not configured (configured: k2)');
  });

  test('a worker refuses a prebuilt bundle that would leave failure texts in clear', async () => {
    const { child, output } = stack.spawnWorkerProcess(k1Config); // the stack's plain bundle
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(code).toBe(1);
    expect(output()).toContain('was built without the encoding failure converter');
    expect(output()).toContain('npm run bundle -- --encrypted');
  });
});

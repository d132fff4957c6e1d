import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Client } from '@temporalio/client';
import { parse as parseYaml } from 'yaml';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA, COMPRESSION_METADATA } from '../../src/client/codec/encryption-codec';
import { testToken } from './tokens';

/**
 * The e2e tier's encrypted mode (`OPSFLOW_TEST_ENCRYPTION=1`): every Stack, worker, worker process
 * and CLI runs with payload encryption under a key generated for this test process, and a Stack's
 * teardown checks every raw history of its namespace (`encryptedHistoryProblems`).
 */
export const encryptionModeOn = (): boolean => process.env.OPSFLOW_TEST_ENCRYPTION === '1';

const KEY_ENV = 'OPSFLOW_TEST_ENCRYPTION_KEY';
const TOKEN_ENV = 'OPSFLOW_TEST_CODEC_TOKEN';
const TEST_KEY_ID = 'suite';
/** The failure text the encoding failure converter leaves in history (`encodeCommonAttributes`). */
export const ENCODED_FAILURE_MESSAGE = 'Encoded failure';
/** The `source` the TypeScript SDK writes into every failure it converts. */
const SDK_FAILURE_SOURCE = 'TypeScriptSDK';

/**
 * The `encryption` section the mode adds: one key, generated once per test process and handed to
 * child processes through the environment (they inherit it), and a loopback codec server with a
 * bearer token issued like every test secret (so no history may hold it either).
 */
function testEncryptionSection() {
  process.env[KEY_ENV] ??= randomBytes(32).toString('base64');
  process.env[TOKEN_ENV] ??= testToken('codec-suite');
  return {
    keys: [{ id: TEST_KEY_ID, key: { env: KEY_ENV } }],
    current: TEST_KEY_ID,
    codecServer: { host: '127.0.0.1', port: 0, token: { env: TOKEN_ENV } },
  };
}

export const testCodecToken = (): string => {
  testEncryptionSection();
  return process.env[TOKEN_ENV]!;
};

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The config with the mode's `encryption` section when it has none (anything but an object is left as it is). */
export function withTestEncryption<T>(config: T): T {
  if (!isPlainObject(config) || 'encryption' in config) return config;
  return { ...config, encryption: testEncryptionSection() } as T;
}

/**
 * For a dev stack whose Web UI a browser reads (`npm run dev`'s): in the mode, the mode's key with a
 * codec server that browser can call, the UI's origins and no token on loopback, as
 * docs/security.md sets it for the dev stack (the mode's own codec server wants a token, which a
 * browser cannot send, and no origin, so the UI would show ciphertext). Out of the mode: the config.
 */
export function withBrowserCodecEncryption<T>(config: T, uiPort: number): T {
  if (!encryptionModeOn() || !isPlainObject(config) || 'encryption' in config) return config;
  const { codecServer, ...section } = testEncryptionSection();
  return {
    ...config,
    encryption: {
      ...section,
      codecServer: {
        host: codecServer.host,
        port: codecServer.port,
        origins: [`http://localhost:${uiPort}`, `http://127.0.0.1:${uiPort}`],
        auth: 'none',
      },
    },
  } as T;
}

/**
 * A config file with the mode's section: the file itself when it has one (or is not an object),
 * otherwise a copy beside it (so relative paths in it resolve the same) that adds the section.
 */
export function encryptedConfigFile(path: string): string {
  if (!existsSync(path)) return path; // the test means a missing file: its error stays the test's
  const text = readFileSync(path, 'utf8');
  let parsed: unknown;
  try {
    parsed = parseYaml(text); // YAML reads JSON too
  } catch {
    return path; // a test of a broken config file
  }
  const added = withTestEncryption(parsed);
  if (added === parsed) return path;
  const copy = join(dirname(path), `${basename(path).replace(/\.(ya?ml|json)$/, '')}.encrypted.json`);
  writeFileSync(copy, JSON.stringify(added, null, 2));
  return copy;
}

const ownEntries = (v: object) => Object.entries(v).filter(([, x]) => x !== undefined && x !== null);
const textOf = (b: unknown) => (b instanceof Uint8Array ? Buffer.from(b).toString('utf8') : '');

interface RawPayload {
  metadata?: Record<string, Uint8Array | null> | null;
  data?: Uint8Array | null;
}

const isPayload = (v: Record<string, unknown>): boolean =>
  v.constructor?.name === 'Payload' || (isPlainObject(v.metadata) && v.data instanceof Uint8Array);
const isFailure = (v: Record<string, unknown>): boolean =>
  v.constructor?.name === 'Failure' ||
  (typeof v.message === 'string' &&
    ('stackTrace' in v ||
      'encodedAttributes' in v ||
      'source' in v ||
      // a plain object fetched or written without the proto's defaults still has its info, a oneof
      Object.keys(v).some((k) => k.endsWith('FailureInfo'))));

/**
 * A failure the Temporal server wrote itself (a timeout it noticed, a termination, its own error):
 * no SDK, hence no failure converter, ever saw it; its message is the server's fixed text (still
 * searched for secrets). Every other failure was written by an SDK and must be encoded.
 */
const serverWritten = (f: Record<string, unknown>): boolean =>
  f.source !== SDK_FAILURE_SOURCE &&
  !f.encodedAttributes &&
  !f.applicationFailureInfo &&
  Boolean(f.timeoutFailureInfo || f.serverFailureInfo || f.terminatedFailureInfo);

/**
 * The failure the server writes on the last workflow task of a run it resets (`temporal workflow
 * reset`): the operator's reason as its message, written by the history service itself, so no
 * failure converter ever saw it (its text is still searched for secrets). Accepted exactly there
 * and in that shape: a workflow task failure with the reset cause, from the history service, whose
 * failure holds the message and the reset info alone (heartbeat details in it are payloads, still
 * checked); anything an SDK wrote there (a source, a stack trace, a cause) is checked as usual.
 */
const RESET_CAUSE = new Set<unknown>(['WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW', 20]);
const HISTORY_SERVICE_IDENTITY = 'history-service';
function isServerResetFailure(event: Record<string, unknown>, path: string, f: Record<string, unknown>): boolean {
  const task = event.workflowTaskFailedEventAttributes as Record<string, unknown> | undefined;
  if (path !== 'workflowTaskFailedEventAttributes.failure' || !task || task.failure !== f) return false;
  if (!RESET_CAUSE.has(task.cause) || task.identity !== HISTORY_SERVICE_IDENTITY) return false;
  const keys = ownEntries(f).map(([k]) => k);
  const info = f.resetWorkflowFailureInfo;
  return (
    typeof f.message === 'string' &&
    keys.sort().join() === 'message,resetWorkflowFailureInfo' &&
    isPlainObject(info) &&
    ownEntries(info).every(([k]) => k === 'lastHeartbeatDetails')
  );
}

/**
 * Payloads in clear by design (docs/security.md): search attributes (the server indexes them) and
 * headers (interceptors' context, which the SDK never passes through a codec). Ids, types and names
 * are plain strings, not payloads: the walk meets them only in the secrets search, which covers
 * these fields too.
 */
const CLEAR_BY_DESIGN = new Set(['searchAttributes', 'header']);

/**
 * A `patched()` marker's data: Temporal's core SDK writes the patch id and its deprecated flag
 * itself, as plain JSON, outside any codec; the walk accepts exactly that and nothing more (the
 * id is the code's patch name, like an activity type).
 */
function isPatchMarkerData(event: Record<string, unknown>, path: string, p: RawPayload): boolean {
  const marker = event.markerRecordedEventAttributes as { markerName?: string } | undefined;
  if (marker?.markerName !== 'core_patch') return false;
  if (!/^markerRecordedEventAttributes\.details\.patch-data\.payloads\[\d+\]$/.test(path)) return false;
  try {
    const data = JSON.parse(Buffer.from(p.data ?? new Uint8Array()).toString('utf8')) as unknown;
    return (
      isPlainObject(data) &&
      typeof data.id === 'string' &&
      Object.keys(data).every((k) => k === 'id' || (k === 'deprecated' && typeof data[k] === 'boolean'))
    );
  } catch {
    return false;
  }
}

export interface HistoryFinding {
  /** `<workflowId> run <runId> (<type>) event <id> <attributes>.<path>` */
  where: string;
  problem: string;
}

export interface EncryptedPayloadRef {
  where: string;
  payload: RawPayload;
}

/**
 * One raw history's problems in the encrypted mode, and its encrypted payloads (for the codec
 * server): every payload outside the clear-by-design fields carries the encryption's metadata and
 * nothing else; every failure an SDK wrote holds the encoded placeholder instead of its message and
 * stack trace; no secret appears anywhere in the history's strings and bytes.
 */
export function inspectEncryptedHistory(
  run: string,
  events: ReadonlyArray<Record<string, unknown>>,
  secrets: string[],
): { findings: HistoryFinding[]; payloads: EncryptedPayloadRef[] } {
  const findings: HistoryFinding[] = [];
  const payloads: EncryptedPayloadRef[] = [];
  for (const event of events) {
    const prefix = `${run} event ${String(event.eventId ?? '?')} `;
    const seen = new Set<unknown>();
    const walk = (value: unknown, path: string, clear: boolean): void => {
      if (value === null || value === undefined) return;
      const where = `${prefix}${path}`;
      if (typeof value === 'string' || value instanceof Uint8Array) {
        const text = typeof value === 'string' ? value : Buffer.from(value).toString('latin1');
        for (const s of secrets)
          if (text.includes(s)) findings.push({ where, problem: `holds a test secret ending …${s.slice(-6)}` });
        return;
      }
      if (typeof value !== 'object' || seen.has(value)) return;
      seen.add(value);
      if (Array.isArray(value)) return value.forEach((v, i) => walk(v, `${path}[${i}]`, clear));
      const o = value as Record<string, unknown>;
      if (!clear && isPayload(o)) {
        const payload = o as RawPayload;
        const meta = payload.metadata ?? {};
        const keys = Object.keys(meta).sort();
        const encoding = textOf(meta.encoding);
        if (encoding !== ENCRYPTED_ENCODING) {
          if (!isPatchMarkerData(event, path, payload))
            findings.push({ where, problem: `payload in clear (encoding "${encoding || 'none'}")` });
        } else if (keys.join() !== [COMPRESSION_METADATA, KEY_ID_METADATA, 'encoding'].sort().join())
          findings.push({ where, problem: `encrypted payload with clear metadata besides it: ${keys.join(', ')}` });
        else payloads.push({ where, payload });
      }
      if (!clear && isFailure(o) && !serverWritten(o) && !isServerResetFailure(event, path, o)) {
        if (o.message !== ENCODED_FAILURE_MESSAGE)
          findings.push({
            where,
            problem: `failure message in clear (${String(o.message).length} characters)`,
          });
        if (o.stackTrace) findings.push({ where, problem: 'failure stack trace in clear' });
        if (!o.encodedAttributes) findings.push({ where, problem: 'failure without encoded attributes' });
      }
      for (const [k, v] of ownEntries(o)) walk(v, path ? `${path}.${k}` : k, clear || CLEAR_BY_DESIGN.has(k));
    };
    walk(event, '', false);
  }
  return { findings, payloads };
}

const toJson = (p: RawPayload) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

/** The codec server's answer to one real `POST /decode` of these payloads, checked: every one decodes to a readable payload. */
async function decodeThroughServer(
  codecUrl: string,
  token: string,
  namespace: string,
  refs: EncryptedPayloadRef[],
): Promise<HistoryFinding[]> {
  const findings: HistoryFinding[] = [];
  // batches well under the server's default body limit (4 MiB)
  const batches: EncryptedPayloadRef[][] = [[]];
  let size = 0;
  for (const r of refs) {
    const bytes = (r.payload.data?.length ?? 0) * 1.4 + 200;
    if (size + bytes > 2 * 1024 * 1024 && batches[batches.length - 1].length) {
      batches.push([]);
      size = 0;
    }
    batches[batches.length - 1].push(r);
    size += bytes;
  }
  for (const batch of batches.filter((b) => b.length)) {
    const res = await fetch(`${codecUrl}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-namespace': namespace },
      body: JSON.stringify({ payloads: batch.map((r) => toJson(r.payload)) }),
    });
    if (res.status !== 200) {
      findings.push({ where: batch[0].where, problem: `codec server answered ${res.status}: ${await res.text()}` });
      continue;
    }
    const out = ((await res.json()) as { payloads?: Array<{ metadata?: Record<string, string>; data?: string }> })
      .payloads;
    if (!Array.isArray(out) || out.length !== batch.length) {
      findings.push({ where: batch[0].where, problem: `codec server decoded ${out?.length} of ${batch.length}` });
      continue;
    }
    out.forEach((p, i) => {
      const encoding = Buffer.from(p.metadata?.encoding ?? '', 'base64').toString();
      if (!encoding || encoding === ENCRYPTED_ENCODING)
        findings.push({ where: batch[i].where, problem: `did not decode through the codec server (${encoding})` });
      else if (encoding === 'json/plain')
        try {
          JSON.parse(Buffer.from(p.data ?? '', 'base64').toString('utf8'));
        } catch {
          findings.push({
            where: batch[i].where,
            problem: 'decoded through the codec server to JSON that does not parse',
          });
        }
    });
  }
  return findings;
}

/**
 * Every run's raw history in the client's namespace (fetched with no codec), checked for the
 * encrypted mode by `inspectEncryptedHistory`, each history's payloads decoded by one real
 * `POST /decode` to the codec server. Each problem names the run and the event.
 */
export async function encryptedHistoryProblems(
  rawClient: Client,
  secrets: string[],
  codec: { url: string; token: string },
): Promise<{ problems: string[]; runs: number; payloads: number }> {
  const namespace = rawClient.options.namespace;
  const out: string[] = [];
  let runs = 0;
  let decoded = 0;
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await rawClient.workflowService.listWorkflowExecutions({ namespace, pageSize: 100, nextPageToken });
    for (const run of page.executions ?? []) {
      const workflowId = run.execution?.workflowId ?? '';
      const runId = run.execution?.runId ?? '';
      const history = await rawClient.workflow.getHandle(workflowId, runId).fetchHistory();
      const events = (history.events ?? []) as unknown as Array<Record<string, unknown>>;
      const name = `${workflowId} run ${runId} (${run.type?.name})`;
      const { findings, payloads } = inspectEncryptedHistory(name, events, secrets);
      findings.push(...(await decodeThroughServer(codec.url, codec.token, namespace, payloads)));
      runs++;
      decoded += payloads.length;
      out.push(...findings.map((f) => `${f.where}: ${f.problem}`));
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return { problems: out, runs, payloads: decoded };
}

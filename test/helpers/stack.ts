import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFile, type ChildProcess } from 'node:child_process';
import { Client, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { DataConverter, Payload, ProtoFailure } from '@temporalio/common';
import { decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { devServerEnv, workflowBundle, workflowBundleFile, type DevServerOptions } from './temporal';
import { ProcessGroup } from './processes';
import { TemporalProcess } from './temporal-process';
import { secretsInHistories } from './history-secrets';
import { issuedSecrets } from './tokens';
import { waitFor } from './ports';
import {
  encryptedConfigFile,
  encryptedHistoryProblems,
  encryptionModeOn,
  testCodecToken,
  withTestEncryption,
} from './encrypted-histories';
import { createWorker } from '../../src/worker';
import { createActivities } from '../../src/activities';
import { parseConfigText } from '../../src/config/load';
import type { OpsflowConfig } from '../../src/config/schema';
import { dataConverterFor } from '../../src/client/codec/data-converter';

const root = resolve(__dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const tsxLoader = require.resolve('tsx', { paths: [root] });

/** The encrypted mode's data converter for a namespace: the mode's key, bound to that namespace. */
const modeDataConverter = (namespace: string): DataConverter | undefined =>
  dataConverterFor(parseConfigText(JSON.stringify(withTestEncryption({})), 'test-encryption.json'), namespace);

/**
 * The environment a spawned CLI or worker starts from: the test's own, less $OPSFLOW_CONFIG, so
 * that a developer's shell setting (or an opsflow.config.yaml in the checkout, see `workDir`) never
 * decides which config a test runs with; a test that wants one passes it.
 */
function childEnv(): NodeJS.ProcessEnv {
  const { OPSFLOW_CONFIG: _inherited, ...env } = process.env;
  return env;
}

/**
 * Writes a config object to a temp file (as JSON) and returns its path. In the encrypted mode
 * (`OPSFLOW_TEST_ENCRYPTION=1`) a config without an `encryption` section gets the mode's.
 */
export function writeConfig(config: unknown, dir = mkdtempSync(join(tmpdir(), 'opsflow-cfg-'))): string {
  const path = join(dir, 'opsflow.config.json');
  writeFileSync(path, JSON.stringify(encryptionModeOn() ? withTestEncryption(config) : config, null, 2));
  return path;
}

/**
 * An end-to-end stack: the real Temporal dev server and an opsflow worker (in this process, or as
 * a separate worker process for crash tests). `stop()` frees everything.
 *
 * In the encrypted mode (`OPSFLOW_TEST_ENCRYPTION=1`, test/helpers/encrypted-histories.ts) every
 * worker, worker process and CLI of the stack runs with payload encryption (configs without an
 * `encryption` section get the mode's), `client` encodes and decodes through the codec so tests
 * read clear values, and `stop()` checks every raw history through a real codec server.
 */
export class Stack {
  env!: TestWorkflowEnvironment;
  readonly processes = new ProcessGroup();
  private inProcess?: { worker: Worker; running: Promise<void> };
  /** The prebuilt workflow bundle that worker processes load (see spawnWorkerProcess). */
  private bundleFile = '';
  /** An empty working directory for spawned CLIs and workers: no ./opsflow.config.yaml to find. */
  readonly workDir = mkdtempSync(join(tmpdir(), 'opsflow-cwd-'));

  /** With `persistent`: the dev server process on its SQLite file, which restartServer kills and starts. */
  private server?: TemporalProcess;

  /** Whether this stack runs in the encrypted mode (never for a file that tests encryption with its own keys). */
  encrypted = encryptionModeOn();
  /** In the encrypted mode: the codec's data converter (a replay of a history read raw needs it). */
  dataConverter?: DataConverter;
  /** In the encrypted mode: the client with the codec's data converter, which `client` answers. */
  private codecClient?: Client;
  /** In the encrypted mode: `opsflow codec serve` for this stack, which the teardown decodes through. */
  private readonly codecServer = new ProcessGroup();
  private codecServerOutput?: () => string;

  /**
   * `ownEncryption`: the file tests payload encryption with keys of its own (codec tests), so the
   * suite's encrypted mode, whose teardown decodes with the mode's key, leaves its stack clear.
   */
  static async start(opts: DevServerOptions & { ownEncryption?: boolean } = {}): Promise<Stack> {
    const s = new Stack();
    if (opts.ownEncryption) s.encrypted = false;
    if (s.encrypted) s.startCodecServer(); // a CLI start takes a while: it loads beside the dev server
    try {
      await s.startServerAndClients(opts);
    } catch (err) {
      // The caller gets no Stack to stop: what started so far is stopped here, or it outlives the file
      // (the codec server is its own process group; one was left running after an encrypted e2e run).
      await s.codecServer.stopAll();
      await s.env?.teardown().catch(() => undefined);
      await s.server?.stop().catch(() => undefined);
      throw err;
    }
    return s;
  }

  private async startServerAndClients(opts: DevServerOptions): Promise<void> {
    if (opts.persistent) {
      if (opts.namespaces?.length || opts.searchAttributes === false)
        throw new Error('Stack.start: persistent takes neither namespaces nor searchAttributes: false');
      this.server = new TemporalProcess();
      await this.server.start();
      // The port accepts before the frontend is healthy ("Frontend is not healthy yet" on a busy
      // machine): connect once it answers, within a bound.
      const address = this.server.address;
      this.env = await waitFor(
        'the Temporal dev server (persistent) to answer',
        () => devServerEnv({}, address),
        60_000,
        500,
      );
    } else {
      this.env = await devServerEnv(opts);
    }
    this.bundleFile = await workflowBundleFile({ encrypted: this.encrypted });
    if (this.encrypted) {
      const namespace = this.env.client.options.namespace;
      this.dataConverter = modeDataConverter(namespace);
      this.codecClient = new Client({
        connection: this.env.connection,
        namespace,
        dataConverter: this.dataConverter,
      });
    }
  }

  /**
   * A client of another of the server's namespaces, as `client` is of the stack's: in the encrypted
   * mode it encodes and decodes with the mode's key, bound to that namespace as a worker there binds it.
   */
  clientIn(namespace: string): Client {
    const dataConverter = this.encrypted ? modeDataConverter(namespace) : undefined;
    return new Client({ connection: this.env.connection, namespace, ...(dataConverter ? { dataConverter } : {}) });
  }

  /** `opsflow codec serve` on a free loopback port with the mode's key and token (its own group: stop() uses it last). */
  private startCodecServer() {
    const config = writeConfig(withTestEncryption({}));
    const child = this.codecServer.spawn(join(root, 'bin/opsflow'), ['-c', config, 'codec', 'serve', '--port', '0'], {
      cwd: this.workDir,
      env: { ...childEnv(), TEMPORAL_NAMESPACE: 'default' },
    });
    this.codecServerOutput = ProcessGroup.output(child);
  }

  /**
   * What the `temporal` CLI needs to send through this stack's codec server: nothing in the clear
   * mode; in the encrypted mode its endpoint and bearer token (docs/security.md), so a workflow started
   * the documented way is encrypted too.
   */
  async temporalCodecArgs(): Promise<string[]> {
    if (!this.encrypted) return [];
    return ['--codec-endpoint', await this.codecServerUrl(), '--codec-auth', `Bearer ${testCodecToken()}`];
  }

  private async codecServerUrl(): Promise<string> {
    const output = this.codecServerOutput!;
    const m = await waitFor(
      'the codec server to listen',
      async () => /opsflow codec: listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output()) ?? undefined,
      120_000,
      250,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${output()}`);
    });
    return m[1];
  }

  /**
   * Kills the dev server -9 (a crashed Temporal host) and starts it again on the same port and
   * SQLite file; this process's client and the worker processes reconnect on their own, as they
   * would to a restarted cluster. `whileDown` runs while nothing answers on the port.
   */
  async restartServer(whileDown?: () => Promise<void>): Promise<void> {
    if (!this.server) throw new Error('restartServer needs Stack.start({ persistent: true })');
    await this.server.stop('SIGKILL');
    await whileDown?.();
    await this.server.start();
    // Back once it answers a call, not merely once the port accepts: the namespace is read from SQLite.
    await waitFor(
      'the restarted Temporal server to answer',
      () => this.client.workflowService.getSystemInfo({}).then(() => true),
      60_000,
      250,
    );
  }

  /** The client tests use: in the encrypted mode it encodes and decodes through the codec. */
  get client(): Client {
    return this.codecClient ?? this.env.client;
  }

  /**
   * The message of a failure read raw (describe()'s pending activities, a history event), as the
   * stack's client decodes it: in the encrypted mode the raw message is only the placeholder.
   */
  async failureMessage(failure: ProtoFailure | null | undefined): Promise<string | undefined> {
    return (await decodeOptionalFailureToOptionalError(this.client.options.loadedDataConverter, failure))?.message;
  }

  /** A payload read raw (a history event's summary, a memo), as the stack's client decodes it. */
  async payloadValue(payload: Payload): Promise<unknown> {
    return this.client.options.loadedDataConverter.payloadConverter.fromPayload(await this.decodedPayload(payload));
  }

  /** A payload through the client's codecs, last first, as the SDK decodes. */
  private async decodedPayload(payload: Payload): Promise<Payload> {
    let decoded = payload;
    for (const codec of [...this.client.options.loadedDataConverter.payloadCodecs].reverse())
      [decoded] = await codec.decode([decoded]);
    return decoded;
  }

  /**
   * A history with every payload in it decoded by the stack's codec (in the clear mode: as it is),
   * for a test that reads what the runs wrote, failures' encoded attributes included.
   */
  async decodedHistory<T>(history: T): Promise<T> {
    if (!this.encrypted) return history;
    const copy = structuredClone(history);
    const payloads: Payload[] = [];
    const visit = (v: unknown): void => {
      if (!v || typeof v !== 'object') return;
      const o = v as Record<string, unknown>;
      if (o.metadata && typeof o.metadata === 'object' && 'data' in o) payloads.push(o as Payload);
      else Object.values(o).forEach(visit);
    };
    visit(copy);
    for (const payload of payloads) {
      const decoded = await this.decodedPayload(payload);
      // As fetched: plain Uint8Arrays (the codec answers Buffers, which JSON.stringify turns into objects).
      const bytes = (b: Uint8Array | null | undefined) => (b ? new Uint8Array(b) : b);
      const metadata = Object.fromEntries(Object.entries(decoded.metadata ?? {}).map(([k, v]) => [k, bytes(v)]));
      Object.assign(payload, { metadata, data: bytes(decoded.data) });
    }
    return copy;
  }

  /**
   * The run's result, as `handle.result()` gives it, but a run whose workflow task the worker's
   * code fails (an input it cannot decode, a nondeterminism) rejects at the first such failure,
   * with its decoded message: the server retries that task without end, and `result()` alone would
   * wait until jest's deadline and say nothing of why.
   */
  async result<R>(handle: WorkflowHandle<(...args: any[]) => Promise<R>>): Promise<R> {
    const stuck = [
      temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
      temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR,
    ];
    let settled = false;
    const watch = async (): Promise<never> => {
      while (!settled) {
        // a read that fails (the server busy) is tried again; only the history decides
        const events = await handle.fetchHistory().then(
          (h) => h.events ?? [],
          () => [],
        );
        const failed = events.find((e) => stuck.includes(e.workflowTaskFailedEventAttributes?.cause as number));
        if (failed) {
          const message = await this.failureMessage(failed.workflowTaskFailedEventAttributes!.failure);
          throw new Error(`${handle.workflowId}: its workflow task failed (event ${failed.eventId}): ${message}`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      return new Promise<never>(() => undefined); // the result settled first: this side never answers
    };
    try {
      return await Promise.race([handle.result(), watch()]);
    } finally {
      settled = true;
    }
  }

  /** A client with no codec: what a reader of Temporal's database sees. */
  get rawClient(): Client {
    return this.env.client;
  }

  /** The Temporal frontend address, for processes started outside this one. */
  temporalAddress(): string {
    return this.env.address;
  }

  /** A worker in this process with the given config (parsed like the config file). */
  async startWorker(config: unknown, taskQueue = 'opsflow'): Promise<Worker> {
    const worker = await this.createWorker(config, { taskQueue });
    const running = worker.run();
    this.inProcess = { worker, running };
    return worker;
  }

  /**
   * A worker in this process, not started (the test runs it, e.g. `runUntil`), built as
   * `startWorker` builds one: in the encrypted mode with the mode's encryption and the bundle that
   * encodes failures. A worker a test builds itself is plain, and in that mode fails every workflow
   * task of the runs it takes (`Unknown encoding`). `activities` replaces some of the config's
   * activities (a test that changes what one does).
   */
  async createWorker(
    config: unknown,
    opts: { taskQueue?: string; activities?: Partial<ReturnType<typeof createActivities>> } = {},
  ): Promise<Worker> {
    const given = this.encrypted ? withTestEncryption(config) : config;
    const parsed: OpsflowConfig = parseConfigText(JSON.stringify(given), 'test-config.json');
    return createWorker({
      config: parsed,
      connection: this.env.nativeConnection,
      taskQueue: opts.taskQueue ?? 'opsflow',
      workflowBundle: await workflowBundle({ encrypted: Boolean(parsed.encryption) }),
      ...(opts.activities ? { overrides: { activities: { ...createActivities(parsed), ...opts.activities } } } : {}),
    });
  }

  async stopWorker(): Promise<void> {
    if (!this.inProcess) return;
    this.inProcess.worker.shutdown();
    await this.inProcess.running.catch(() => undefined);
    this.inProcess = undefined;
  }

  /**
   * `node --import tsx src/worker.ts <config>` as its own process group (so a test can SIGKILL it).
   * One process, as in production: a `tsx` launcher would relay a signal the group already got,
   * and the SDK treats a second SIGTERM as "exit now".
   */
  spawnWorkerProcess(configPath: string | undefined, extraEnv: NodeJS.ProcessEnv = {}, cwd = this.workDir) {
    // The loader by path, so that a worker started in another directory (no node_modules) loads too.
    const config = configPath && this.encrypted ? encryptedConfigFile(configPath) : configPath;
    const args = ['--import', tsxLoader, join(root, 'src/worker.ts'), ...(config ? [config] : [])];
    const child = this.processes.spawn(process.execPath, args, {
      cwd,
      env: {
        ...childEnv(),
        TEMPORAL_ADDRESS: this.temporalAddress(),
        OPSFLOW_METRICS_PORT: '0',
        OPSFLOW_LOG_LEVEL: 'WARN',
        // as production images do: no webpack run at each start (a crash test starts several)
        OPSFLOW_WORKFLOW_BUNDLE: this.bundleFile,
        ...extraEnv,
      },
    });
    const output = ProcessGroup.output(child);
    return { child, output };
  }

  /** Runs the opsflow CLI against this stack; resolves with its exit code and output. */
  cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    if (this.encrypted) ({ args, extraEnv } = this.encryptedCli(args, extraEnv));
    return new Promise((resolvePromise) => {
      execFile(
        tsx,
        [join(root, 'src/client/cli.ts'), ...args],
        // A deadline for a hung CLI only: on a busy machine loading the CLI alone takes tens of seconds.
        {
          cwd: this.workDir,
          env: { ...childEnv(), TEMPORAL_ADDRESS: this.temporalAddress(), ...extraEnv },
          timeout: 240_000,
        },
        (err, stdout, stderr) =>
          resolvePromise({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
    });
  }

  /**
   * The encrypted mode's CLI arguments: the config given (`-c`, `--config`, $OPSFLOW_CONFIG) with the
   * mode's `encryption` section, or a config of that section alone when none is given.
   */
  private encryptedCli(args: string[], extraEnv: NodeJS.ProcessEnv) {
    const i = args.findIndex((a) => a === '-c' || a === '--config');
    if (i >= 0 && i + 1 < args.length)
      return { args: args.map((a, j) => (j === i + 1 ? encryptedConfigFile(a) : a)), extraEnv };
    const eq = args.findIndex((a) => a.startsWith('--config='));
    if (eq >= 0) {
      const file = encryptedConfigFile(args[eq].slice('--config='.length));
      return { args: args.map((a, j) => (j === eq ? `--config=${file}` : a)), extraEnv };
    }
    const fromEnv = extraEnv.OPSFLOW_CONFIG;
    const config = fromEnv !== undefined ? encryptedConfigFile(resolve(this.workDir, fromEnv)) : writeConfig({});
    return { args, extraEnv: { ...extraEnv, OPSFLOW_CONFIG: config } };
  }

  /**
   * Stops everything; first searches every run's raw history on this server for every token the
   * test file issued (test/helpers/tokens.ts), and fails the file naming the run that holds one.
   * In the encrypted mode it also checks every raw history as `encryptedHistories()` does.
   */
  /**
   * Everything this stack started stopped, its histories not checked: for a file whose histories
   * hold a leak on purpose (history-secrets). `env.teardown()` alone left the mode's codec server running.
   */
  async stopUnchecked(): Promise<void> {
    await this.stopWorker();
    await this.processes.stopAll();
    await this.codecServer.stopAll();
    await this.env?.teardown();
    await this.server?.stop();
  }

  async stop(): Promise<void> {
    await this.stopWorker();
    await this.processes.stopAll();
    let leaks: string[] = [];
    let clear: string[] = [];
    if (this.env) {
      leaks = await secretsInHistories(this.env.client, issuedSecrets()).catch((e: Error) => [
        `could not search the histories: ${e.message}`,
      ]);
      if (this.encrypted)
        clear = await this.encryptedHistories().catch((e: Error) => [`could not check the histories: ${e.message}`]);
    }
    await this.codecServer.stopAll();
    await this.env?.teardown();
    await this.server?.stop();
    const problems = [
      ...(leaks.length ? [`secrets in workflow history:`, ...leaks] : []),
      ...(clear.length ? [`readable data in encrypted workflow history:`, ...clear] : []),
    ];
    if (problems.length) throw new Error(problems.join('\n'));
  }

  /**
   * The encrypted mode's check of every run's raw history in the namespace (encrypted-histories.ts):
   * what is not encrypted, failure texts in clear, any test secret, and any payload that does not
   * decode through this stack's codec server (one real POST /decode per history). Empty when all is
   * well. The teardown checks the stack's namespace; a test may check another of the server's.
   */
  async encryptedHistories(namespace = this.env.client.options.namespace): Promise<string[]> {
    if (!this.encrypted) throw new Error('encryptedHistories: the stack is not in the encrypted mode');
    const url = await this.codecServerUrl();
    const raw = new Client({ connection: this.env.connection, namespace });
    const { problems, runs, payloads } = await encryptedHistoryProblems(raw, issuedSecrets(), {
      url,
      token: testCodecToken(),
    });
    // what the check covered, beside jest's own output (no payload, no secret in it)
    process.stderr.write(
      `encrypted mode: ${runs} runs, ${payloads} encrypted payloads decoded through the codec server, ${problems.length} problems\n`,
    );
    return problems;
  }
}

/** SIGKILLs a worker process's whole group (as a crashed machine would) and waits until it is gone. */
export async function killWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid!, 'SIGKILL');
  await exited;
}

export { waitFor };

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFile, type ChildProcess } from 'node:child_process';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { devServerEnv, workflowBundle, workflowBundleFile, type DevServerOptions } from './temporal';
import { ProcessGroup } from './processes';
import { TemporalProcess } from './temporal-process';
import { secretsInHistories } from './history-secrets';
import { issuedSecrets } from './tokens';
import { waitFor } from './ports';
import { createWorker } from '../../src/worker';
import { parseConfigText } from '../../src/config/load';
import type { OpsflowConfig } from '../../src/config/schema';

const root = resolve(__dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const tsxLoader = require.resolve('tsx', { paths: [root] });

/**
 * The environment a spawned CLI or worker starts from: the test's own, less $OPSFLOW_CONFIG, so
 * that a developer's shell setting (or an opsflow.config.yaml in the checkout, see `workDir`) never
 * decides which config a test runs with; a test that wants one passes it.
 */
function childEnv(): NodeJS.ProcessEnv {
  const { OPSFLOW_CONFIG: _inherited, ...env } = process.env;
  return env;
}

/** Writes a config object to a temp file (as JSON) and returns its path. */
export function writeConfig(config: unknown, dir = mkdtempSync(join(tmpdir(), 'opsflow-cfg-'))): string {
  const path = join(dir, 'opsflow.config.json');
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/**
 * An end-to-end stack: the real Temporal dev server and an opsflow worker (in this process, or as
 * a separate worker process for crash tests). `stop()` frees everything.
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

  static async start(opts: DevServerOptions = {}): Promise<Stack> {
    const s = new Stack();
    if (opts.persistent) {
      if (opts.namespaces?.length || opts.searchAttributes === false)
        throw new Error('Stack.start: persistent takes neither namespaces nor searchAttributes: false');
      s.server = new TemporalProcess();
      await s.server.start();
      // The port accepts before the frontend is healthy ("Frontend is not healthy yet" on a busy
      // machine): connect once it answers, within a bound.
      const address = s.server.address;
      s.env = await waitFor(
        'the Temporal dev server (persistent) to answer',
        () => devServerEnv({}, address),
        60_000,
        500,
      );
    } else {
      s.env = await devServerEnv(opts);
    }
    s.bundleFile = await workflowBundleFile();
    return s;
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

  get client() {
    return this.env.client;
  }

  /** The Temporal frontend address, for processes started outside this one. */
  temporalAddress(): string {
    return this.env.address;
  }

  /** A worker in this process with the given config (parsed like the config file). */
  async startWorker(config: unknown, taskQueue = 'opsflow'): Promise<Worker> {
    const parsed: OpsflowConfig = parseConfigText(JSON.stringify(config), 'test-config.json');
    const worker = await createWorker({
      config: parsed,
      connection: this.env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle({ encrypted: Boolean(parsed.encryption) }),
    });
    const running = worker.run();
    this.inProcess = { worker, running };
    return worker;
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
    const args = ['--import', tsxLoader, join(root, 'src/worker.ts'), ...(configPath ? [configPath] : [])];
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
   * Stops everything; first searches every run's raw history on this server for every token the
   * test file issued (test/helpers/tokens.ts), and fails the file naming the run that holds one.
   */
  async stop(): Promise<void> {
    await this.stopWorker();
    await this.processes.stopAll();
    let leaks: string[] = [];
    if (this.env)
      leaks = await secretsInHistories(this.env.client, issuedSecrets()).catch((e: Error) => [
        `could not search the histories: ${e.message}`,
      ]);
    await this.env?.teardown();
    await this.server?.stop();
    if (leaks.length) throw new Error(`secrets in workflow history:\n${leaks.join('\n')}`);
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

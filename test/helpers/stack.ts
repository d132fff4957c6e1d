import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { devServerEnv, workflowBundle } from './temporal';
import { ProcessGroup } from './processes';
import { waitFor } from './ports';
import { createWorker } from '../../src/worker';
import { parseConfigText } from '../../src/config/load';
import type { OpsflowConfig } from '../../src/config/schema';

const root = resolve(__dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');

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

  static async start(): Promise<Stack> {
    const s = new Stack();
    s.env = await devServerEnv();
    return s;
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
      workflowBundle: await workflowBundle(),
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
  spawnWorkerProcess(configPath: string, extraEnv: NodeJS.ProcessEnv = {}) {
    const child = this.processes.spawn(process.execPath, ['--import', 'tsx', join(root, 'src/worker.ts'), configPath], {
      cwd: root,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: this.temporalAddress(),
        OPSFLOW_METRICS_PORT: '0',
        OPSFLOW_LOG_LEVEL: 'WARN',
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
        { cwd: root, env: { ...process.env, TEMPORAL_ADDRESS: this.temporalAddress(), ...extraEnv }, timeout: 60_000 },
        (err, stdout, stderr) => resolvePromise({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
    });
  }

  async stop(): Promise<void> {
    await this.stopWorker();
    await this.processes.stopAll();
    await this.env?.teardown();
  }
}

export { waitFor };

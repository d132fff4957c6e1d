import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { waitFor } from './ports';
import { ProcessGroup } from './processes';

const root = resolve(__dirname, '../..');
const tsxLoader = require.resolve('tsx', { paths: [root] });

export interface DevLauncherEnv {
  config: string;
  temporalPort: number;
  uiPort: number;
  dataDir: string;
  /** A prebuilt workflow bundle, or '' to let the worker bundle at start. */
  bundle: string;
}

/**
 * `npm run dev`'s launcher (scripts/dev.ts) as a process of the test's, on the test's own ports and
 * data folder, with what it printed; `stop` sends the one SIGTERM a person's Ctrl-C would.
 */
export class DevLauncher {
  readonly child: ChildProcess;
  readonly output: () => string;

  constructor(processes: ProcessGroup, o: DevLauncherEnv) {
    this.child = processes.spawn(process.execPath, ['--import', tsxLoader, join(root, 'scripts/dev.ts')], {
      cwd: root,
      env: {
        ...process.env,
        OPSFLOW_CONFIG: o.config,
        OPSFLOW_TEMPORAL_PORT: String(o.temporalPort),
        OPSFLOW_UI_PORT: String(o.uiPort),
        OPSFLOW_DATA_DIR: o.dataDir,
        OPSFLOW_METRICS_PORT: '0',
        OPSFLOW_WORKFLOW_BUNDLE: o.bundle,
      },
    });
    this.output = ProcessGroup.output(this.child);
  }

  /** Waits for the launcher to say something; on a time-out the error carries what it did say. */
  until(what: string, cond: (output: string) => boolean, timeoutMs: number): Promise<unknown> {
    return waitFor(what, () => cond(this.output()), timeoutMs, 200).catch((e: Error) => {
      throw new Error(`${e.message}\nlauncher output:\n${this.output()}`);
    });
  }

  up(timeoutMs = 180_000): Promise<unknown> {
    return this.until('the dev stack to come up', (out) => out.includes('opsflow dev stack is up'), timeoutMs);
  }

  /** The launcher stops its worker, codec server and Temporal in order, then exits. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 60_000)))]);
    clearTimeout(timer);
  }
}

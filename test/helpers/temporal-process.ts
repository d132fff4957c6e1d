import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { temporalCliPath } from '../../scripts/temporal-binaries';
import { opsflowSearchAttributes } from '../../src/domain/search-attributes';
import { freePort, waitForPort } from './ports';
import { ProcessGroup } from './processes';

/**
 * `temporal server start-dev` as a process of its own, on one port and one SQLite file for its
 * whole life: a test can stop it (Temporal is away) and start it again (it is back, with what it
 * held), which the SDK's in-process test environment cannot do.
 */
export class TemporalProcess {
  private readonly procs = new ProcessGroup();
  private child?: ChildProcess;
  private output = () => '';
  private readonly dbFile = join(mkdtempSync(join(tmpdir(), 'opsflow-temporal-')), 'temporal.sqlite');
  port = 0;

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const cli = temporalCliPath();
    if (!cli) throw new Error('no temporal CLI: run `npm run setup` (or set TEMPORAL_CLI_PATH)');
    if (!this.port) this.port = await freePort();
    this.child = this.procs.spawn(cli, [
      'server',
      'start-dev',
      '--headless',
      '--ip',
      '127.0.0.1',
      '--port',
      String(this.port),
      '--db-filename',
      this.dbFile,
      '--log-level',
      'error',
      ...opsflowSearchAttributes.flatMap((k) => ['--search-attribute', `${k.name}=Keyword`]),
    ]);
    this.output = ProcessGroup.output(this.child);
    await waitForPort(this.port, '127.0.0.1', 60_000).catch((e: Error) => {
      throw new Error(`Temporal dev server did not start: ${e.message}\n${this.output()}`);
    });
  }

  /** signal SIGKILL: as a crashed machine, no chance to flush or close its SQLite file cleanly. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child) await this.procs.kill(this.child, signal);
    this.child = undefined;
  }
}

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * Tracks every process a test file starts so that afterAll can stop them all, also when a test
 * failed halfway. Children get their own process group so that a kill reaches their children too.
 */
export class ProcessGroup {
  private children: ChildProcess[] = [];

  spawn(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...options });
    this.children.push(child);
    child.stdout?.on('data', () => undefined);
    child.stderr?.on('data', () => undefined);
    return child;
  }

  /** Collects a child's output (for error messages when it dies). */
  static output(child: ChildProcess): () => string {
    let out = '';
    child.stdout?.on('data', (d) => (out += d));
    child.stderr?.on('data', (d) => (out += d));
    return () => out;
  }

  async kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-child.pid!, signal);
    } catch {
      child.kill(signal);
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.children.map((c) => this.kill(c)));
    this.children = [];
  }
}

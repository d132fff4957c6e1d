import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { Context } from '@temporalio/activity';

const TAIL = 2000;

export interface ToolRun {
  argv: string[];
  env?: NodeJS.ProcessEnv;
  /** Write stdout to this file (gzipped when asked) instead of discarding it. */
  stdoutTo?: { path: string; gzip: boolean };
  /** Feed this stream to stdin. */
  stdin?: Readable;
  /** Told the child's pid at once (so a later attempt can find a writer its dead worker left). */
  onSpawn?: (pid: number | undefined) => void;
}

/**
 * Runs a tool as an argv (never through a shell), heartbeating while it runs and killing it when
 * the activity is cancelled; resolves with its exit code and the tail of its stderr.
 */
export function runTool(run: ToolRun): Promise<{ code: number | null; stderr: string }> {
  const ctx = Context.current();
  return new Promise((resolve, reject) => {
    const child = spawn(run.argv[0], run.argv.slice(1), {
      env: { ...process.env, ...run.env },
      stdio: [run.stdin ? 'pipe' : 'ignore', run.stdoutTo ? 'pipe' : 'ignore', 'pipe'],
    });
    run.onSpawn?.(child.pid);
    let stderr = '';
    child.stderr!.on('data', (b) => (stderr = (stderr + b).slice(-TAIL)));
    let written: Promise<void> = Promise.resolve();
    if (run.stdoutTo) {
      const out = createWriteStream(run.stdoutTo.path);
      const source = run.stdoutTo.gzip ? child.stdout!.pipe(createGzip()) : child.stdout!;
      source.pipe(out);
      written = new Promise((res, rej) => out.on('finish', res).on('error', rej));
    }
    if (run.stdin)
      run.stdin
        .on('error', (e) => child.kill('SIGKILL') && reject(e))
        .pipe(child.stdin!)
        .on('error', () => undefined);
    const beat = setInterval(() => ctx.heartbeat(), 2_000);
    const onCancel = () => child.kill('SIGKILL');
    ctx.cancellationSignal.addEventListener('abort', onCancel);
    child.on('error', (err) => {
      clearInterval(beat);
      reject(new Error(`${run.argv[0]} could not be started: ${err.message}`));
    });
    child.on('close', (code) => {
      clearInterval(beat);
      ctx.cancellationSignal.removeEventListener('abort', onCancel);
      written.then(() => resolve({ code, stderr: stderr.trim() }), reject);
    });
  });
}

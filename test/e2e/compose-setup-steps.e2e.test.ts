import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { randomBytes } from 'node:crypto';
import { Stack } from '../helpers/stack';
import { freePort } from '../helpers/ports';
import { root } from '../helpers/deploy-checks';
import { temporalCliPath } from '../../scripts/temporal-binaries';
import { ENCRYPTED_ENCODING } from '../../src/client/codec/encryption-codec';
import { opsflowSearchAttributes } from '../../src/domain/search-attributes';

/**
 * The compose stack's set-up steps as written, against the dev server (without opsflow's search
 * attributes, as a new cluster is): the namespace step (service temporal-setup, its shell command
 * run with this machine's temporal CLI) creates a namespace that is not there, succeeds again when
 * it is, and fails (not hidden) when the server cannot be reached; then opsflow-setup and
 * opsflow-schedules run their commands with the stack's own opsflow.yaml and encryption on.
 */
jest.setTimeout(180_000);

const compose = parse(readFileSync(join(root, 'deploy/compose/docker-compose.yml'), 'utf8'), { merge: true });
const setup = compose.services['temporal-setup'];

describe('compose set-up steps against the dev server', () => {
  let stack: Stack;
  const bin = mkdtempSync(join(tmpdir(), 'temporal-cli-'));
  beforeAll(async () => {
    stack = await Stack.start({ searchAttributes: false });
    const cli = temporalCliPath();
    if (!cli)
      throw new Error(
        'temporal CLI not found (.tools/venv/bin/temporal, TEMPORAL_CLI_PATH or PATH): run scripts/setup.sh',
      );
    symlinkSync(cli, join(bin, 'temporal'));
  }, 120_000);
  afterAll(async () => stack?.stop(), 60_000);

  const run = (namespace: string, address: string) => {
    expect(setup.entrypoint).toEqual(['/bin/sh', '-c']);
    const command = (setup.command as string[])[0].replaceAll('--namespace default', `--namespace ${namespace}`);
    expect(command).toContain(`--namespace ${namespace}`);
    return new Promise<{ code: number; stderr: string }>((done) =>
      execFile(
        '/bin/sh',
        ['-c', command],
        { env: { PATH: `${bin}:/usr/bin:/bin`, TEMPORAL_ADDRESS: address }, timeout: 60_000 },
        (err, _o, stderr) => done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr }),
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

  test('opsflow-setup then opsflow-schedules, as compose runs them with its opsflow.yaml: attributes registered, schedules encrypted', async () => {
    // The key as `opsflow codec keygen` makes one: 32 random bytes, base64.
    const env = { OPSFLOW_KEY_K1: randomBytes(32).toString('base64') };
    const config = ['--config', join(root, 'deploy/compose/opsflow.yaml')];
    for (const step of ['opsflow-setup', 'opsflow-schedules']) {
      const command = compose.services[step].command as string[];
      expect(command[0]).toBe('opsflow');
      const r = await stack.cli([...config, ...command.slice(1)], env);
      expect({ step, code: r.code, stderr: r.stderr }).toEqual({ step, code: 0, stderr: '' });
    }
    const registered =
      (await stack.client.connection.operatorService.listSearchAttributes({ namespace: 'default' })).customAttributes ??
      {};
    expect(Object.keys(registered)).toEqual(expect.arrayContaining(opsflowSearchAttributes.map((k) => k.name)));
    const ids = Object.keys(parse(readFileSync(join(root, 'deploy/compose/opsflow.yaml'), 'utf8')).schedules);
    expect(ids.sort()).toEqual(['backup-opsflow', 'daily-report', 'health-check']);
    for (const scheduleId of ids) {
      const d = await stack.client.connection.workflowService.describeSchedule({ namespace: 'default', scheduleId });
      const input = d.schedule?.action?.startWorkflow?.input?.payloads?.[0];
      expect({ scheduleId, encoding: Buffer.from(input!.metadata!.encoding!).toString() }).toEqual({
        scheduleId,
        encoding: ENCRYPTED_ENCODING,
      });
    }
  });
});

import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Server, utils, type Connection } from 'ssh2';
import { request } from 'undici';
import { systemdActivities } from '../../src/activities/systemd';
import { hostKeyFingerprint, remoteCommand, shellQuote } from '../../src/activities/systemd/ssh';
import { parseConfigText } from '../../src/config/load';
import { SystemdStandin } from '../helpers/systemd-standin';
import { freePort, waitFor, waitForPort } from '../helpers/ports';

/**
 * restart / reload / status through the stand-in systemctl, which really restarts a local HTTP
 * service (its pid changes), here and on a "remote" host reached over a real SSH connection: an
 * ssh2 server on loopback that, like sshd, runs the command line it is given with /bin/sh.
 */
describe('systemd activities: restart, reload, status, local and over SSH', () => {
  const systemd = new SystemdStandin();
  let sshServer: Server;
  const sshConnections = new Set<Connection>();
  let sshPort = 0;
  let webPort = 0;
  let remotePort = 0;
  const execs: string[] = [];
  const hostKey = utils.generateKeyPairSync('ed25519');
  const parsedHostKey = utils.parseKey(hostKey.public);
  if (parsedHostKey instanceof Error) throw parsedHostKey;
  const fingerprint = hostKeyFingerprint(parsedHostKey.getPublicSSH());

  const servedPid = async (port: number) => ((await (await request(`http://127.0.0.1:${port}/health`)).body.json()) as { pid: number }).pid;

  beforeAll(async () => {
    [webPort, remotePort, sshPort] = await Promise.all([freePort(), freePort(), freePort()]);
    systemd.defineHttpService('web-local', webPort);
    systemd.defineHttpService('web-remote', remotePort);
    systemd.systemctl('start', 'web-local', 'web-remote');
    await Promise.all([waitForPort(webPort), waitForPort(remotePort)]);
    sshServer = new Server({ hostKeys: [hostKey.private] }, (client) => {
      sshConnections.add(client);
      client.on('close', () => sshConnections.delete(client));
      client.on('error', () => undefined);
      client.on('authentication', (ctx) => {
        if (ctx.method === 'password' && ctx.username === 'ops' && ctx.password === 'ssh-secret') ctx.accept();
        else ctx.reject(['password']);
      });
      client.on('ready', () => {
        client.on('session', (accept) => {
          const session = accept();
          session.on('exec', (acceptExec, _reject, info) => {
            execs.push(info.command);
            const stream = acceptExec();
            execFile('/bin/sh', ['-c', info.command], { encoding: 'utf8' }, (err, stdout, stderr) => {
              stream.write(stdout);
              stream.stderr.write(stderr);
              stream.exit(err ? (typeof err.code === 'number' ? err.code : 1) : 0);
              stream.end();
            });
          });
        });
      });
    });
    await new Promise<void>((resolve) => sshServer.listen(sshPort, '127.0.0.1', () => resolve()));
    process.env.OPSFLOW_TEST_SSH_PASSWORD = 'ssh-secret';
    process.env.OPSFLOW_TEST_SSH_WRONG = 'nope';
  });

  afterAll(async () => {
    for (const c of sshConnections) c.end();
    await new Promise<void>((resolve) => (sshServer ? sshServer.close(() => resolve()) : resolve()));
    systemd.stopAll();
  });

  const acts = (hosts: Record<string, unknown> = {}) =>
    systemdActivities(parseConfigText(JSON.stringify({ systemd: { systemctl: systemd.systemctlPath, hosts } }), 'test.json'));
  const remote = (over: Record<string, unknown> = {}) => ({
    app1: { host: '127.0.0.1', port: sshPort, username: 'ops', password: { env: 'OPSFLOW_TEST_SSH_PASSWORD' }, hostKeySha256: fingerprint, systemctl: systemd.systemctlPath, ...over },
  });

  test('restart really restarts the local unit: a new pid answers the health endpoint', async () => {
    const before = systemd.mainPid('web-local');
    expect(await servedPid(webPort)).toBe(before);
    const r = await acts().restartUnit({ unit: 'web-local' });
    expect(r).toMatchObject({ unit: 'web-local', host: 'localhost', verb: 'restart' });
    const after = systemd.mainPid('web-local');
    expect(after).toBeGreaterThan(0);
    expect(after).not.toBe(before);
    await waitForPort(webPort);
    await waitFor('the new process answers', async () => (await servedPid(webPort).catch(() => 0)) === after, 15_000);
  });

  test('reload and status', async () => {
    await expect(acts().reloadUnit({ unit: 'web-local' })).resolves.toMatchObject({ verb: 'reload' });
    const s = await acts().unitStatus({ unit: 'web-local' });
    expect(s.active).toBe(true);
    expect(s.output).toContain('active (running)');
    expect(systemd.calls()).toEqual(expect.arrayContaining(['reload -- web-local', 'status -- web-local']));
  });

  test('an unknown unit and an invalid name are not retried', async () => {
    const missing = await acts().restartUnit({ unit: 'no-such-unit' }).catch((e) => e);
    expect(missing.nonRetryable).toBe(true);
    expect(missing.message).toMatch(/no-such-unit on localhost: unit not found/);
    const invalid = await acts().restartUnit({ unit: '--force' }).catch((e) => e);
    expect(invalid.nonRetryable).toBe(true);
    expect(invalid.message).toMatch(/invalid systemd unit name/);
    const unknownHost = await acts().restartUnit({ unit: 'web-local', host: 'ghost' }).catch((e) => e);
    expect(unknownHost.message).toMatch(/unknown SSH host "ghost"/);
  });

  test('over SSH: the remote unit is restarted (new pid), the command line is quoted argv', async () => {
    const before = systemd.mainPid('web-remote');
    const r = await acts(remote()).restartUnit({ unit: 'web-remote', host: 'app1' });
    expect(r).toMatchObject({ host: 'app1', verb: 'restart' });
    const after = systemd.mainPid('web-remote');
    expect(after).toBeGreaterThan(0);
    expect(after).not.toBe(before);
    expect(execs.at(-1)).toBe(`'${systemd.systemctlPath}' 'restart' '--' 'web-remote'`);
    const s = await acts(remote()).unitStatus({ unit: 'web-remote', host: 'app1' });
    expect(s.active).toBe(true);
  });

  test('over SSH: a wrong host key or a refused login is not retried', async () => {
    const otherKey = createHash('sha256').update('another key').digest('base64').replace(/=+$/, '');
    const mismatch = await acts(remote({ hostKeySha256: otherKey })).restartUnit({ unit: 'web-remote', host: 'app1' }).catch((e) => e);
    expect(mismatch.nonRetryable).toBe(true);
    expect(mismatch.message).toMatch(/host key .* is not the configured/);
    const refused = await acts(remote({ password: { env: 'OPSFLOW_TEST_SSH_WRONG' } })).restartUnit({ unit: 'web-remote', host: 'app1' }).catch((e) => e);
    expect(refused.nonRetryable).toBe(true);
    expect(refused.message).toMatch(/login as ops refused/);
  });

  test('shell quoting survives a real shell unchanged', () => {
    for (const s of [`a'b`, 'x; rm -rf /', '$(touch /tmp/pwned)', '`id`', 'a b\tc', "''"]) {
      expect(execFileSync('/bin/sh', ['-c', `printf '%s' ${shellQuote(s)}`], { encoding: 'utf8' })).toBe(s);
    }
    expect(remoteCommand({ sudo: true, systemctl: 'systemctl' }, 'restart', 'nginx')).toBe(`'sudo' '-n' 'systemctl' 'restart' '--' 'nginx'`);
  });
});

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { request } from 'undici';
import { systemdActivities } from '../../src/activities/systems/systemd';
import { remoteCommand, shellQuote } from '../../src/activities/systems/systemd/ssh';
import { parseConfigText } from '../../src/config/load';
import { SystemdStandin } from '../helpers/systemd-standin';
import { Sshd } from '../helpers/sshd';
import { freePort, waitFor, waitForPort } from '../helpers/ports';

/**
 * restart / reload / status through the stand-in systemctl, which really restarts a local HTTP
 * service (its pid changes), here and on a "remote" host reached over SSH: a real OpenSSH sshd on
 * loopback, logged into with a key, whose sessions find the stand-in as plain `systemctl` on PATH.
 */
describe('systemd activities: restart, reload, status, local and over SSH', () => {
  const systemd = new SystemdStandin();
  const sshd = new Sshd(systemd.binDir);
  let webPort = 0;
  let remotePort = 0;

  const servedPid = async (port: number) =>
    ((await (await request(`http://127.0.0.1:${port}/health`)).body.json()) as { pid: number }).pid;

  beforeAll(async () => {
    [webPort, remotePort] = await Promise.all([freePort(), freePort()]);
    systemd.defineHttpService('web-local', webPort);
    systemd.defineHttpService('web-remote', remotePort);
    systemd.systemctl('start', 'web-local', 'web-remote');
    await Promise.all([waitForPort(webPort), waitForPort(remotePort)]);
    await sshd.start();
  });

  afterAll(async () => {
    await sshd.stop();
    systemd.stopAll();
  });

  const acts = (hosts: Record<string, unknown> = {}) =>
    systemdActivities(
      parseConfigText(JSON.stringify({ systemd: { systemctl: systemd.systemctlPath, hosts } }), 'test.json'),
    );
  // `systemctl` is left at its default: the remote login finds the stand-in on the PATH sshd gives it.
  const remote = (over: Record<string, unknown> = {}) => ({
    app1: {
      host: '127.0.0.1',
      port: sshd.port,
      username: sshd.username,
      privateKey: { file: sshd.clientKey },
      hostKeySha256: sshd.hostKeySha256,
      ...over,
    },
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
    const missing = await acts()
      .restartUnit({ unit: 'no-such-unit' })
      .catch((e) => e);
    expect(missing.nonRetryable).toBe(true);
    expect(missing.message).toMatch(/no-such-unit on localhost: unit not found/);
    const invalid = await acts()
      .restartUnit({ unit: '--force' })
      .catch((e) => e);
    expect(invalid.nonRetryable).toBe(true);
    expect(invalid.message).toMatch(/invalid systemd unit name/);
    const unknownHost = await acts()
      .restartUnit({ unit: 'web-local', host: 'ghost' })
      .catch((e) => e);
    expect(unknownHost.message).toMatch(/unknown SSH host "ghost"/);
  });

  test('over SSH: the remote unit is restarted (new pid answering), through a real sshd login', async () => {
    const before = systemd.mainPid('web-remote');
    expect(await servedPid(remotePort)).toBe(before);
    const callsBefore = systemd.calls().length;
    const r = await acts(remote()).restartUnit({ unit: 'web-remote', host: 'app1' });
    expect(r).toMatchObject({ host: 'app1', verb: 'restart' });
    // the stand-in saw exactly the argv the quoted command line carries, and sshd logged the key login
    expect(systemd.calls().slice(callsBefore)).toEqual(['restart -- web-remote']);
    expect(sshd.log()).toMatch(new RegExp(`Accepted publickey for ${sshd.username} from 127\\.0\\.0\\.1`));
    const after = systemd.mainPid('web-remote');
    expect(after).toBeGreaterThan(0);
    expect(after).not.toBe(before);
    await waitFor(
      'the new remote process answers',
      async () => (await servedPid(remotePort).catch(() => 0)) === after,
      15_000,
    );
    const s = await acts(remote()).unitStatus({ unit: 'web-remote', host: 'app1' });
    expect(s.active).toBe(true);
    expect(s.output).toContain('active (running)');
  });

  test('over SSH: a wrong host key or a key sshd does not accept is not retried', async () => {
    const otherKey = createHash('sha256').update('another key').digest('base64').replace(/=+$/, '');
    const mismatch = await acts(remote({ hostKeySha256: otherKey }))
      .restartUnit({ unit: 'web-remote', host: 'app1' })
      .catch((e) => e);
    expect(mismatch.nonRetryable).toBe(true);
    expect(mismatch.message).toMatch(/host key .* is not the configured/);
    const refused = await acts(remote({ privateKey: { file: sshd.strangerKey } }))
      .restartUnit({ unit: 'web-remote', host: 'app1' })
      .catch((e) => e);
    expect(refused.nonRetryable).toBe(true);
    expect(refused.message).toBe(`ssh app1: login as ${sshd.username} refused`);
  });

  test('without sshd the test fails naming the package to install', async () => {
    const missing = new Sshd(systemd.binDir, '/nonexistent/sshd');
    await expect(missing.start()).rejects.toThrow(/sshd \(openssh-server\) not found at \/nonexistent\/sshd/);
    await missing.stop();
  });

  test('shell quoting survives a real shell unchanged', () => {
    for (const s of [`a'b`, 'x; rm -rf /', '$(touch /tmp/pwned)', '`id`', 'a b\tc', "''"]) {
      expect(execFileSync('/bin/sh', ['-c', `printf '%s' ${shellQuote(s)}`], { encoding: 'utf8' })).toBe(s);
    }
    expect(remoteCommand({ sudo: true, systemctl: 'systemctl' }, 'restart', 'nginx')).toBe(
      `'sudo' '-n' 'systemctl' 'restart' '--' 'nginx'`,
    );
  });
});

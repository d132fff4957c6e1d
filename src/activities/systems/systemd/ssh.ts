import { createHash } from 'node:crypto';
import { Client } from 'ssh2';
import { ApplicationFailure } from '@temporalio/activity';
import { unitName } from '../../../domain/names';
import type { SshHost } from '../../../config/sections/systemd';
import { resolveOptionalSecret } from '../../../config/secrets';
import type { SystemctlResult, SystemctlVerb } from './systemctl';

/**
 * POSIX single-quoting. SSH can only carry a command line, which the remote login shell parses;
 * every argument is quoted whole (and the unit name is validated besides), so no input can become
 * an option, a second command or an expansion.
 */
export function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function remoteCommand(host: Pick<SshHost, 'sudo' | 'systemctl'>, verb: SystemctlVerb, unit: string): string {
  const argv = host.sudo ? ['sudo', '-n', host.systemctl, verb, '--', unit] : [host.systemctl, verb, '--', unit];
  return argv.map(shellQuote).join(' ');
}

/** The fingerprint as `ssh-keygen -lf` prints it (base64 of SHA-256, without padding). */
function hostKeyFingerprint(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

/**
 * `systemctl <verb> -- <unit>` on a remote host over SSH (ssh2). The host key must match the
 * configured fingerprint; a mismatch or a refused login is a config problem (non-retryable), a
 * network failure is retried.
 */
export function sshSystemctl(
  name: string,
  host: SshHost,
  verb: SystemctlVerb,
  unit: string,
  timeoutMs = 60_000,
): Promise<SystemctlResult> {
  if (!unitName.safeParse(unit).success) {
    throw ApplicationFailure.nonRetryable(`invalid systemd unit name ${JSON.stringify(unit)}`, 'InvalidUnitName');
  }
  return sshExec(name, host, remoteCommand(host, verb, unit), timeoutMs, `${verb} ${unit}`);
}

/**
 * One command line on a remote host over SSH, the host key pinned (see sshSystemctl). The caller
 * quotes every argument (`shellQuote`); `what` names the command in a timeout message.
 */
export function sshExec(
  name: string,
  host: SshHost,
  command: string,
  timeoutMs: number,
  what: string,
): Promise<SystemctlResult> {
  const privateKey = resolveOptionalSecret(host.privateKey, `systemd.hosts.${name}.privateKey`);
  const password = resolveOptionalSecret(host.password, `systemd.hosts.${name}.password`);
  const expected = host.hostKeySha256.replace(/=+$/, '');
  let keyMismatch: string | undefined;
  return new Promise((resolve, reject) => {
    const conn = new Client();
    const timer = setTimeout(() => {
      conn.end();
      reject(ApplicationFailure.retryable(`ssh ${name}: ${what} timed out after ${timeoutMs} ms`, 'SshTimeout'));
    }, timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      conn.end();
      if (keyMismatch)
        reject(
          ApplicationFailure.nonRetryable(
            `ssh ${name}: host key ${keyMismatch} is not the configured ${expected}`,
            'SshHostKeyMismatch',
          ),
        );
      else if ((err as Error & { level?: string }).level === 'client-authentication')
        reject(ApplicationFailure.nonRetryable(`ssh ${name}: login as ${host.username} refused`, 'SshAuthFailed'));
      else
        reject(
          ApplicationFailure.retryable(`ssh ${name} (${host.host}:${host.port}): ${err.message}`, 'SshUnavailable'),
        );
    };
    conn
      .on('ready', () => {
        conn.exec(command, (err, stream) => {
          if (err) return fail(err);
          let stdout = '';
          let stderr = '';
          stream.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
          stream.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
          stream.on('close', (code: number | null) => {
            clearTimeout(timer);
            conn.end();
            resolve({ code: code ?? 255, stdout, stderr });
          });
        });
      })
      .on('error', fail)
      .connect({
        host: host.host,
        port: host.port,
        username: host.username,
        privateKey,
        password,
        readyTimeout: host.readyTimeoutMs,
        hostVerifier: (key: Buffer) => {
          const got = hostKeyFingerprint(key);
          if (got !== expected) keyMismatch = got;
          return got === expected;
        },
      });
  });
}

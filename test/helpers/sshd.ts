import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports';
import { ProcessGroup } from './processes';

function keygen(file: string): string {
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'opsflow-test', '-f', file], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`ssh-keygen (openssh-client, with openssh-server) failed: ${(err as Error).message}`);
  }
  return file;
}

/**
 * A real OpenSSH `sshd` on a free loopback port, running as the current user with keys and a
 * config of its own in a temp folder: public-key login only (no PAM), for the current user only,
 * and the `PATH` of its sessions starting with `pathPrefix` (where a test puts its stand-in tools).
 */
export class Sshd {
  readonly dir = mkdtempSync(join(tmpdir(), 'opsflow-sshd-'));
  readonly username = userInfo().username;
  /** A private key sshd accepts, and one it does not. */
  readonly clientKey = join(this.dir, 'client_ed25519');
  readonly strangerKey = join(this.dir, 'stranger_ed25519');
  private readonly hostKey = join(this.dir, 'host_ed25519');
  private readonly procs = new ProcessGroup();
  private output: () => string = () => '';
  port = 0;

  constructor(
    private readonly pathPrefix: string,
    private readonly sshdPath = process.env.SSHD_PATH ?? '/usr/sbin/sshd',
  ) {}

  /** The host key's SHA-256 fingerprint as `ssh-keygen -lf` prints it, without "SHA256:". */
  get hostKeySha256(): string {
    const line = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${this.hostKey}.pub`], { encoding: 'utf8' });
    const m = /SHA256:([A-Za-z0-9+/]{43})/.exec(line);
    if (!m) throw new Error(`ssh-keygen printed no SHA-256 fingerprint: ${line}`);
    return m[1];
  }

  async start(): Promise<this> {
    const sshdPath = this.sshdPath;
    if (!existsSync(sshdPath))
      throw new Error(
        `sshd (openssh-server) not found at ${sshdPath}: apt-get install openssh-server, or set SSHD_PATH`,
      );
    this.port = await freePort();
    keygen(this.hostKey);
    keygen(this.clientKey);
    keygen(this.strangerKey);
    writeFileSync(join(this.dir, 'authorized_keys'), readFileSync(`${this.clientKey}.pub`));
    // sshd as root insists on its privilege-separation folder, which only its package's service makes.
    if (userInfo().uid === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const config = join(this.dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${this.port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${this.hostKey}`,
        `PidFile ${join(this.dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(this.dir, 'authorized_keys')}`,
        'StrictModes no', // the temp folder is not owned the way a home folder is
        'UsePAM no',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        `AllowUsers ${this.username}`,
        `SetEnv PATH=${this.pathPrefix}:/usr/local/bin:/usr/bin:/bin`,
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
    );
    try {
      execFileSync(sshdPath, ['-t', '-f', config], { encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      throw new Error(
        `sshd (openssh-server) refused its test config: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`,
      );
    }
    // sshd re-executes itself, so it must be started by its absolute path; -e logs to stderr.
    const child = this.procs.spawn(sshdPath, ['-D', '-e', '-f', config], { cwd: this.dir });
    this.output = ProcessGroup.output(child);
    await waitForPort(this.port, '127.0.0.1', 15_000).catch((e) => {
      throw new Error(`sshd (openssh-server) did not listen on ${this.port}: ${e.message}\n${this.output()}`);
    });
    return this;
  }

  /** What sshd logged (logins, refusals, commands at LogLevel VERBOSE). */
  log(): string {
    return this.output();
  }

  async stop(): Promise<void> {
    await this.procs.stopAll();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

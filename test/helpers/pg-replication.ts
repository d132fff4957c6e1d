import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';

/** The PostgreSQL server binaries: $PG_BINDIR, else the newest /usr/lib/postgresql/<v>/bin. */
function pgBinDir(): string {
  if (process.env.PG_BINDIR) return process.env.PG_BINDIR;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))) : [];
  if (!versions.length) throw new Error('PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) not found: apt-get install postgresql, or set PG_BINDIR');
  return join(base, versions.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

/**
 * A primary and a streaming-replication standby of our own, on free loopback ports in a temp
 * folder, so that failover (pg_promote) is tested against a real standby. PostgreSQL refuses to
 * run as root, so as root the clusters belong to the `postgres` user.
 */
export class PgReplicaPair {
  readonly dir = mkdtempSync(join(tmpdir(), 'opsflow-pgrepl-'));
  readonly primaryDir = join(this.dir, 'primary');
  readonly standbyDir = join(this.dir, 'standby');
  primaryPort = 0;
  standbyPort = 0;
  private readonly bin = pgBinDir();
  private readonly asRoot = userInfo().uid === 0;

  private run(tool: string, args: string[]): string {
    const cmd = join(this.bin, tool);
    return this.asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8', cwd: this.dir })
      : execFileSync(cmd, args, { encoding: 'utf8', cwd: this.dir });
  }

  async start(): Promise<this> {
    chmodSync(this.dir, 0o755);
    if (this.asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
      chownSync(this.dir, uid, gid);
    }
    [this.primaryPort, this.standbyPort] = await Promise.all([freePort(), freePort()]);
    this.run('initdb', ['-D', this.primaryDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    const opts = (port: number) => `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${this.dir} -c fsync=off`;
    this.run('pg_ctl', ['-D', this.primaryDir, '-o', opts(this.primaryPort), '-l', join(this.dir, 'primary.log'), '-w', 'start']);
    this.run('pg_basebackup', ['-h', '127.0.0.1', '-p', String(this.primaryPort), '-U', 'postgres', '-D', this.standbyDir, '-R', '-X', 'stream']);
    this.run('pg_ctl', ['-D', this.standbyDir, '-o', opts(this.standbyPort), '-l', join(this.dir, 'standby.log'), '-w', 'start']);
    return this;
  }

  stopPrimary(): void {
    this.run('pg_ctl', ['-D', this.primaryDir, '-m', 'immediate', '-w', 'stop']);
  }

  stop(): void {
    for (const d of [this.standbyDir, this.primaryDir]) {
      try {
        this.run('pg_ctl', ['-D', d, '-m', 'immediate', '-w', 'stop']);
      } catch {
        /* not running */
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

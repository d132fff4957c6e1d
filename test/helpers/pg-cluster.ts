import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { ClientConfig } from 'pg';
import { freePort } from './ports';

/** The PostgreSQL server binaries: $PG_BINDIR, else the newest /usr/lib/postgresql/<v>/bin. */
function pgBinDir(): string {
  if (process.env.PG_BINDIR) return process.env.PG_BINDIR;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))) : [];
  if (!versions.length)
    throw new Error(
      'PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) not found: apt-get install postgresql, or set PG_BINDIR',
    );
  return join(base, versions.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

/**
 * A temp folder for clusters of our own and a runner for the server tools in it. PostgreSQL
 * refuses to run as root, so as root the folder and the clusters belong to the `postgres` user.
 */
export class PgWorkDir {
  readonly dir: string;
  private readonly bin = pgBinDir();
  private readonly asRoot = userInfo().uid === 0;

  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    chmodSync(this.dir, 0o755);
    if (this.asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
      chownSync(this.dir, uid, gid);
    }
  }

  run(tool: string, args: string[]): string {
    const cmd = join(this.bin, tool);
    return this.asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8', cwd: this.dir })
      : execFileSync(cmd, args, { encoding: 'utf8', cwd: this.dir });
  }

  initdb(dataDir: string): void {
    this.run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  }

  /** Starts a cluster on loopback only, with its socket in this folder and any extra settings. */
  startServer(dataDir: string, port: number, logName: string, settings: Record<string, string> = {}): void {
    const all = {
      listen_addresses: '127.0.0.1',
      port: String(port),
      unix_socket_directories: this.dir,
      fsync: 'off',
      ...settings,
    };
    const opts = Object.entries(all)
      .map(([k, v]) => `-c ${k}=${v}`)
      .join(' ');
    this.run('pg_ctl', ['-D', dataDir, '-o', opts, '-l', join(this.dir, logName), '-w', 'start']);
  }

  /** Stops the clusters (those not running are skipped) and removes the folder. */
  remove(dataDirs: string[]): void {
    for (const d of dataDirs) {
      try {
        this.run('pg_ctl', ['-D', d, '-m', 'immediate', '-w', 'stop']);
      } catch {
        /* not running */
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One PostgreSQL cluster of our own on a free loopback port, for settings the shared one lacks. */
export class PgCluster {
  private readonly work = new PgWorkDir('opsflow-pg-');
  readonly dataDir = join(this.work.dir, 'data');
  port = 0;

  constructor(private readonly settings: Record<string, string> = {}) {}

  async start(): Promise<this> {
    this.port = await freePort();
    this.work.initdb(this.dataDir);
    this.work.startServer(this.dataDir, this.port, 'server.log', this.settings);
    return this;
  }

  get connection(): ClientConfig {
    return { host: '127.0.0.1', port: this.port, user: 'postgres', database: 'postgres' };
  }

  /** Stops the server and keeps its data: connections to its port are refused until `resume`. */
  halt(): void {
    this.work.run('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
  }

  /** Starts the halted server again, on the same port. */
  resume(): void {
    this.work.startServer(this.dataDir, this.port, 'server.log', this.settings);
  }

  stop(): void {
    this.work.remove([this.dataDir]);
  }
}

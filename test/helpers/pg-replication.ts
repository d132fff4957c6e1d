import { join } from 'node:path';
import { freePort } from './ports';
import { PgWorkDir } from './pg-cluster';

/**
 * A primary and a streaming-replication standby of our own, on free loopback ports in a temp
 * folder, so that failover (pg_promote) is tested against a real standby.
 */
export class PgReplicaPair {
  private readonly work = new PgWorkDir('opsflow-pgrepl-');
  readonly dir = this.work.dir;
  readonly primaryDir = join(this.dir, 'primary');
  readonly standbyDir = join(this.dir, 'standby');
  primaryPort = 0;
  standbyPort = 0;

  async start(): Promise<this> {
    [this.primaryPort, this.standbyPort] = await Promise.all([freePort(), freePort()]);
    this.work.initdb(this.primaryDir);
    this.work.startServer(this.primaryDir, this.primaryPort, 'primary.log');
    this.work.run('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(this.primaryPort),
      '-U',
      'postgres',
      '-D',
      this.standbyDir,
      '-R',
      '-X',
      'stream',
    ]);
    this.work.startServer(this.standbyDir, this.standbyPort, 'standby.log');
    return this;
  }

  stopPrimary(): void {
    this.work.run('pg_ctl', ['-D', this.primaryDir, '-m', 'immediate', '-w', 'stop']);
  }

  stop(): void {
    this.work.remove([this.standbyDir, this.primaryDir]);
  }
}

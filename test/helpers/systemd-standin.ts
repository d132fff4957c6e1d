import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';

export const standinBin = resolve(__dirname, 'bin');
export const systemctlPath = join(standinBin, 'systemctl');
export const httpServiceScript = resolve(__dirname, 'fixtures/http-service.js');

/**
 * A private state folder for the stand-in systemctl, and env that puts it first on PATH.
 * `stopAll()` stops every unit it started.
 */
export class SystemdStandin {
  readonly dir = mkdtempSync(join(tmpdir(), 'opsflow-systemd-'));
  readonly env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${standinBin}:${process.env.PATH}`,
    SYSTEMCTL_STANDIN_DIR: this.dir,
  };
  private units: string[] = [];

  /** Makes the stand-in and everything this process spawns use this folder. */
  install(): this {
    process.env.PATH = this.env.PATH;
    process.env.SYSTEMCTL_STANDIN_DIR = this.dir;
    return this;
  }

  defineUnit(name: string, exec: string[], env: Record<string, string> = {}): void {
    mkdirSync(join(this.dir, 'units'), { recursive: true });
    writeFileSync(join(this.dir, 'units', `${name}.json`), JSON.stringify({ exec, env }));
    this.units.push(name);
  }

  /** A unit running the test HTTP service on a port. */
  defineHttpService(name: string, port: number, env: Record<string, string> = {}): void {
    this.defineUnit(name, [process.execPath, httpServiceScript], { PORT: String(port), NAME: name, ...env });
  }

  systemctl(...args: string[]): string {
    return execFileSync(systemctlPath, args, { env: this.env, encoding: 'utf8' });
  }

  mainPid(unit: string): number {
    return Number(this.systemctl('show', '-p', 'MainPID', unit).trim().split('=')[1]);
  }

  calls(): string[] {
    try {
      return readFileSync(join(this.dir, 'calls.log'), 'utf8').trim().split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }

  stopAll(): void {
    if (this.units.length) {
      try {
        this.systemctl('stop', ...this.units);
      } catch {
        /* already stopped */
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';

const standinScript = resolve(__dirname, 'bin/systemctl');
const httpServiceScript = resolve(__dirname, 'fixtures/http-service.js');

/**
 * A private stand-in systemd: a state folder and a `systemctl` wrapper bound to it, so it works
 * whatever env a child process inherits (jest gives test code its own copy of process.env).
 * Point `config.systemd.systemctl` at `systemctlPath`, or put `binDir` first on PATH.
 * `stopAll()` stops every unit it started.
 */
export class SystemdStandin {
  readonly dir = mkdtempSync(join(tmpdir(), 'opsflow-systemd-'));
  readonly binDir = join(this.dir, 'bin');
  readonly systemctlPath = join(this.binDir, 'systemctl');
  readonly env: NodeJS.ProcessEnv = { ...process.env, PATH: `${this.binDir}:${process.env.PATH}` };
  private units: string[] = [];

  constructor() {
    mkdirSync(this.binDir, { recursive: true });
    writeFileSync(
      this.systemctlPath,
      `#!/bin/sh\nSYSTEMCTL_STANDIN_DIR='${this.dir}' exec '${process.execPath}' '${standinScript}' "$@"\n`,
    );
    chmodSync(this.systemctlPath, 0o755);
  }

  /** Puts this stand-in first on PATH for this process (for code that calls plain `systemctl`). */
  install(): this {
    process.env.PATH = this.env.PATH;
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
    return execFileSync(this.systemctlPath, args, { encoding: 'utf8' });
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

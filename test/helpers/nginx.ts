import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { ProcessGroup } from './processes';
import { freePort, startRetryingPorts, waitFor, waitForPort } from './ports';
import { measureSplit } from './haproxy';

export const NGINX_BIN = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

/**
 * A real nginx (the Debian package) as an unprivileged process: its own prefix, pid file, error
 * log and temp paths in a temp dir, a loopback port, and an `upstream app` whose members come from
 * an include file (what the nginx adapter rewrites). Foreground (`daemon off`) so it can be stopped.
 */
export class Nginx {
  readonly prefix = mkdtempSync(join(tmpdir(), 'opsflow-nginx-'));
  readonly configFile = join(this.prefix, 'nginx.conf');
  readonly errorLog = join(this.prefix, 'error.log');
  readonly upstreamFile = join(this.prefix, 'app.upstream.conf');
  port = 0;
  private child?: ChildProcess;
  private output?: () => string;

  constructor(
    private readonly processes: ProcessGroup,
    private readonly initialUpstream: string,
  ) {}

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts nginx; a port taken between freePort() and bind (other suites run too) means a retry. */
  start(attempts = 3): Promise<this> {
    return startRetryingPorts(
      () => this.startOnce(),
      async () => void (this.child && (await this.processes.kill(this.child, 'SIGQUIT'))),
      attempts,
    );
  }

  private async startOnce(): Promise<this> {
    this.port = await freePort();
    const p = this.prefix;
    mkdirSync(join(p, 'tmp'), { recursive: true });
    writeFileSync(this.upstreamFile, this.initialUpstream);
    writeFileSync(
      this.configFile,
      `daemon off;
master_process on;
worker_processes 1;
pid ${p}/nginx.pid;
error_log ${this.errorLog} warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${p}/tmp/body;
  proxy_temp_path ${p}/tmp/proxy;
  fastcgi_temp_path ${p}/tmp/fastcgi;
  uwsgi_temp_path ${p}/tmp/uwsgi;
  scgi_temp_path ${p}/tmp/scgi;
  upstream app { include ${this.upstreamFile}; }
  server {
    listen 127.0.0.1:${this.port};
    location / { proxy_pass http://app; }
  }
}
`,
    );
    this.child = this.processes.spawn(NGINX_BIN, ['-p', p, '-c', this.configFile, '-e', this.errorLog]);
    this.output = ProcessGroup.output(this.child);
    try {
      await waitForPort(this.port, '127.0.0.1', 20_000);
      // Something else may hold the port: then our process has exited although the port answers.
      await new Promise((r) => setTimeout(r, 200));
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`exited: ${this.output()}`);
    } catch (err) {
      throw new Error(
        `nginx did not start (${NGINX_BIN}; scripts/setup.sh installs it): ${(err as Error).message}\n${this.output()}`,
      );
    }
    return this;
  }

  /** The adapter's config section for this nginx. */
  lbConfig(servers: Record<string, string>) {
    return {
      type: 'nginx',
      upstreamFile: this.upstreamFile,
      servers,
      binary: NGINX_BIN,
      prefix: this.prefix,
      configFile: this.configFile,
      errorLog: this.errorLog,
    };
  }

  async stop(): Promise<void> {
    if (this.child) await this.processes.kill(this.child, 'SIGQUIT');
    rmSync(this.prefix, { recursive: true, force: true });
  }
}

/**
 * The split nginx serves once a reload has settled: a reload is graceful, so old workers may answer
 * a few more requests the old way. Waits until `percent` % (± tolerance) of 100 requests reach
 * `next` and every one is answered by `old` or `next`, then measures `n`.
 */
export async function settledSplit(
  url: string,
  old: string,
  next: string,
  percent: number,
  tolerance: number,
  n = 1000,
) {
  await waitFor(
    `nginx serving ${percent} % ${next}`,
    async () => {
      const m = await measureSplit(url, 100);
      return Math.abs(m.percent(next) - percent) <= tolerance && (m.counts[old] ?? 0) + (m.counts[next] ?? 0) === 100
        ? true
        : undefined;
    },
    30_000,
    200,
  );
  return measureSplit(url, n);
}

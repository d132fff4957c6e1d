import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { request } from 'undici';
import { ProcessGroup } from './processes';
import { freePort, startRetryingPorts, waitFor, waitForPort } from './ports';
import { runtimeApiCommand } from '../../src/activities/systems/load-balancer/haproxy-runtime-api';
import { serverSessions } from '../../src/activities/deploy/lb';
import type { HaproxyLoadBalancerConfig } from '../../src/config/sections/load-balancers';

const HAPROXY_BIN = process.env.HAPROXY_BIN ?? '/usr/sbin/haproxy';

export interface HaproxyServer {
  name: string;
  port: number;
  weight: number;
}

/**
 * A real HAProxy (the Debian package) on a free loopback port with a generated config: one
 * frontend, one backend `app` of the given servers, and the Runtime API on a unix socket and on
 * a TCP port (admin level). Started in the foreground (-db) so the ProcessGroup can stop it.
 */
export class Haproxy {
  readonly dir = mkdtempSync(join(tmpdir(), 'opsflow-haproxy-'));
  readonly socket = join(this.dir, 'admin.sock');
  port = 0;
  apiPort = 0;
  private child?: ChildProcess;
  private output?: () => string;

  constructor(
    private readonly processes: ProcessGroup,
    readonly servers: HaproxyServer[],
    readonly backend = 'app',
  ) {}

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts HAProxy; a port taken between freePort() and bind (other suites run too) means a retry on new ports. */
  start(attempts = 3): Promise<this> {
    return startRetryingPorts(
      () => this.startOnce(),
      async () => void (this.child && (await this.processes.kill(this.child))),
      attempts,
    );
  }

  private async startOnce(): Promise<this> {
    this.port = await freePort();
    this.apiPort = await freePort();
    const cfg = [
      'global',
      `  stats socket ${this.socket} mode 600 level admin`,
      `  stats socket ipv4@127.0.0.1:${this.apiPort} level admin`,
      '  maxconn 2000',
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 30s',
      '  timeout server 30s',
      '  option http-server-close',
      `frontend fe`,
      `  bind 127.0.0.1:${this.port}`,
      `  default_backend ${this.backend}`,
      `backend ${this.backend}`,
      '  balance roundrobin',
      ...this.servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port} weight ${s.weight}`),
      '',
    ].join('\n');
    const file = join(this.dir, 'haproxy.cfg');
    writeFileSync(file, cfg);
    this.child = this.processes.spawn(HAPROXY_BIN, ['-db', '-f', file]);
    this.output = ProcessGroup.output(this.child);
    try {
      await waitForPort(this.port, '127.0.0.1', 20_000);
      await waitForPort(this.apiPort, '127.0.0.1', 20_000);
      // Something else may hold the port: then our process has exited although the port answers.
      await new Promise((r) => setTimeout(r, 200));
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`exited: ${this.output()}`);
    } catch (err) {
      throw new Error(
        `HAProxy did not start (${HAPROXY_BIN}; scripts/setup.sh installs it): ${(err as Error).message}\n${this.output()}`,
      );
    }
    return this;
  }

  /**
   * A request held open `ms` on server `name` through HAProxy (the other servers in maint while it
   * is sent, ready again once HAProxy counts its session); `held` is its answer, `{ name }`.
   */
  async holdSessionOn(name: string, ms = 15_000): Promise<{ held: Promise<{ name: string }> }> {
    const api = (cmd: string) => runtimeApiCommand({ socket: this.socket }, cmd, 5000);
    const others = this.servers.map((s) => s.name).filter((o) => o !== name);
    for (const o of others) await api(`set server ${this.backend}/${o} state maint`);
    const held = request(`${this.url}/slow?ms=${ms}`, {
      headers: { connection: 'close' },
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    }).then((r) => r.body.json() as Promise<{ name: string }>);
    const lb = { type: 'haproxy', runtimeApi: { socket: this.socket }, backend: this.backend, timeoutMs: 5000 };
    // The others come back once HAProxy holds the request's session on it (however slow the machine).
    await waitFor(
      `a session held open on ${name}`,
      async () => (await serverSessions(lb as HaproxyLoadBalancerConfig, name)) > 0,
      30_000,
      50,
    );
    for (const o of others) await api(`set server ${this.backend}/${o} state ready`);
    // Wrapped: an async function returning the promise itself would wait for the held answer.
    return { held };
  }

  /**
   * The Runtime API's socket path refuses connections (ECONNREFUSED: a socket bound there that
   * nobody listens on) until the returned function puts HAProxy's own back; HAProxy itself keeps
   * serving traffic throughout.
   */
  refuseRuntimeApi(): () => void {
    const aside = `${this.socket}.aside`;
    renameSync(this.socket, aside);
    try {
      execFileSync('python3', [
        '-c',
        'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])',
        this.socket,
      ]);
    } catch (err) {
      renameSync(aside, this.socket);
      throw err;
    }
    return () => {
      rmSync(this.socket, { force: true });
      renameSync(aside, this.socket);
    };
  }

  async stop(): Promise<void> {
    if (this.child) await this.processes.kill(this.child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Sends `n` requests through a proxy (fresh connections, a few at a time) and counts which
 * backend answered, by the `name` the fixture service puts in its body.
 */
export async function measureSplit(
  url: string,
  n = 1000,
  concurrency = 10,
): Promise<{ counts: Record<string, number>; errors: number; percent: (name: string) => number }> {
  const counts: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  async function one() {
    while (next < n) {
      next++;
      try {
        const res = await request(url, {
          headers: { connection: 'close' },
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        });
        const body = (await res.body.json().catch(() => ({}))) as { name?: string };
        const name = body.name ?? `status-${res.statusCode}`;
        counts[name] = (counts[name] ?? 0) + 1;
      } catch {
        errors++;
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, one));
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return { counts, errors, percent: (name) => (total === 0 ? 0 : ((counts[name] ?? 0) / total) * 100) };
}

const fixture = join(__dirname, 'fixtures/http-service.js');

/** A fixture HTTP service (old or new backend) on a free port; its body names it. */
export async function startBackend(
  processes: ProcessGroup,
  name: string,
): Promise<{
  name: string;
  port: number;
  url: string;
  setStatus: (s: number) => Promise<void>;
  setDelay: (ms: number) => Promise<void>;
}> {
  const port = await freePort();
  processes.spawn(process.execPath, [fixture], { env: { ...process.env, PORT: String(port), NAME: name } });
  await waitForPort(port);
  const url = `http://127.0.0.1:${port}`;
  const mode = async (m: { status?: number; delayMs?: number }) => {
    const res = await request(`${url}/mode`, { method: 'POST', body: JSON.stringify(m) });
    await res.body.dump();
  };
  return { name, port, url, setStatus: (status) => mode({ status }), setDelay: (delayMs) => mode({ delayMs }) };
}

/** The rollout fixture: blue (old, weight 100) and green (new, weight 0) behind a fresh HAProxy, backend `app`. */
export async function blueGreenBehindHaproxy(processes: ProcessGroup) {
  const blue = await startBackend(processes, 'blue');
  const green = await startBackend(processes, 'green');
  const haproxy = await new Haproxy(processes, [
    { name: 'blue', port: blue.port, weight: 100 },
    { name: 'green', port: green.port, weight: 0 },
  ]).start();
  return { blue, green, haproxy };
}

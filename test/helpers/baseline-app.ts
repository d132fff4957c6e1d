import { createServer, type Server } from 'node:http';
import type { ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from './ports';
import { ProcessGroup } from './processes';

/** What the app did for one request: the delay it applied and the status it answered. */
export interface ServedRequest {
  delayMs: number;
  status: number;
}

/**
 * A local app with a known latency and error distribution, for baselines measured through the
 * real HTTP probe: request i (counted from 0) waits `delays[i % delays.length]` ms and answers 500
 * when `i % errorEvery === errorEvery - 1`, else 200. It records what it served, so a test
 * computes the expected numbers from the app's own record, not from the code under test.
 */
export class BaselineApp {
  readonly served: ServedRequest[] = [];
  private server?: Server;
  port = 0;
  /** Requests still to answer 503 whatever the distribution says (an outage burst, `fail503`). */
  private failing = 0;

  constructor(
    private readonly delays: number[],
    private readonly errorEvery = 0,
  ) {}

  /** Answers the next `n` requests 503 (recorded in `served` like the others). */
  fail503(n: number): void {
    this.failing = n;
  }

  /** Starts on a free port, or on `port` again after stop() (connections refused in between). */
  async start(port?: number): Promise<this> {
    this.port = port ?? (await freePort());
    this.server = createServer((_req, res) => {
      const i = this.served.length;
      const delayMs = this.delays[i % this.delays.length];
      const outage = this.failing > 0;
      if (outage) this.failing--;
      const status = outage ? 503 : this.errorEvery > 0 && i % this.errorEvery === this.errorEvery - 1 ? 500 : 200;
      this.served.push({ delayMs, status });
      setTimeout(() => res.writeHead(status).end(status === 200 ? 'ok' : 'boom'), delayMs);
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
}

/**
 * A Redis server of the test's own (the machine's real redis-server binary on a free port), so its
 * keyspace counters hold only the load the test puts on it: the shared Redis counts every test's.
 */
export async function startPrivateRedis(processes: ProcessGroup): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = processes.spawn('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  const output = ProcessGroup.output(child);
  try {
    await waitForPort(port);
  } catch (err) {
    throw new Error(
      `redis-server (needed for the baseline's Redis group) did not start on ${port}: ${(err as Error).message}\n${output()}`,
    );
  }
  return { port, child };
}

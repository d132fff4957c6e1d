import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Redis from 'ioredis';
import { Agent, request } from 'undici';

type Stats = { total: number; errors: number; latencyMs: number };

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * A gateway as production would have one: each request (`GET /app?user=<id>`) is routed by the
 * user's entry in the real Redis routing hash (`new_system` → the new backend, anything else or
 * none → the old one) and proxied there. It counts per cohort (`cohortOf(user)`) and serves those
 * counts as the runbook's stats endpoint (`GET /stats?cohort=`), which the cutover's http-stats
 * metric source reads. `failNewFor(user)` makes the new backend answer 500 for those users;
 * `complaints.set(cohort, n)` makes the stats report n complaints for that cohort (else 0).
 */
export class CutoverGateway {
  readonly stats = new Map<string, Stats>();
  failNewFor: (user: string) => boolean = () => false;
  readonly complaints = new Map<string, number>();
  /** Every `cohort=` the stats endpoint was asked for. */
  readonly statsAsked: string[] = [];
  private redis: Redis;
  private servers: Server[] = [];
  /** Gateway → backends, and clients → gateway: two pools, or clients holding every connection would starve the gateway. */
  private agent = new Agent({ connections: 64 });
  private clients = new Agent({ connections: 128 });
  private backends: Record<'old_system' | 'new_system', string> = { old_system: '', new_system: '' };
  url = '';

  constructor(
    redis: { host: string; port: number },
    readonly key: string,
    readonly cohortOf: (user: string) => string,
  ) {
    this.redis = new Redis({ ...redis, lazyConnect: true, maxRetriesPerRequest: 1 });
  }

  async start(): Promise<void> {
    await this.redis.connect();
    const backend = (system: 'old_system' | 'new_system') =>
      listen((req, res) => {
        const user = new URL(req.url ?? '/', 'http://x').searchParams.get('user') ?? '';
        const fail = system === 'new_system' && this.failNewFor(user);
        res.writeHead(fail ? 500 : 200, { 'x-backend': system });
        res.end(system);
      });
    for (const system of ['old_system', 'new_system'] as const) {
      const b = await backend(system);
      this.servers.push(b.server);
      this.backends[system] = b.url;
    }
    const gw = await listen((req, res) => void this.handle(req, res));
    this.servers.push(gw.server);
    this.url = gw.url;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    try {
      await this.route(req, res);
    } catch (err) {
      // A gateway that cannot route answers, or a client would wait forever.
      if (!res.headersSent) res.writeHead(502);
      res.end(String((err as Error).message));
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse) {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/stats') {
      const cohort = u.searchParams.get('cohort') ?? '';
      this.statsAsked.push(cohort);
      const s = this.stats.get(cohort) ?? { total: 0, errors: 0, latencyMs: 0 };
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(
        JSON.stringify({
          errors: s.errors,
          total: s.total,
          avgResponseMs: s.total ? s.latencyMs / s.total : null,
          complaints: this.complaints.get(cohort) ?? 0,
        }),
      );
    }
    const user = u.searchParams.get('user') ?? '';
    const started = performance.now();
    const system = (await this.redis.hget(this.key, user)) === 'new_system' ? 'new_system' : 'old_system';
    const r = await request(`${this.backends[system]}/app?user=${encodeURIComponent(user)}`, {
      dispatcher: this.agent,
      headersTimeout: 5_000,
      bodyTimeout: 5_000,
    });
    await r.body.dump();
    const cohort = this.cohortOf(user);
    const s = this.stats.get(cohort) ?? { total: 0, errors: 0, latencyMs: 0 };
    s.total++;
    if (r.statusCode >= 500) s.errors++;
    s.latencyMs += performance.now() - started;
    this.stats.set(cohort, s);
    res.writeHead(r.statusCode, { 'x-backend': system });
    res.end(system);
  }

  /** One request per user through the gateway; which backend served each. */
  async served(users: string[], concurrency = 64): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let next = 0;
    const lane = async () => {
      while (next < users.length) {
        const user = users[next++];
        const r = await request(`${this.url}/app?user=${encodeURIComponent(user)}`, {
          dispatcher: this.clients,
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        });
        await r.body.dump();
        out.set(user, String(r.headers['x-backend']));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
    return out;
  }

  async stop(): Promise<void> {
    for (const s of this.servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    await this.agent.close();
    await this.clients.close();
    this.redis.disconnect();
  }
}

/**
 * Background traffic: every `everyMs`, `perTick` requests as users picked round-robin, until
 * stopped. Bounded by `maxTicks`.
 */
export function trafficGenerator(gw: CutoverGateway, users: string[], perTick = 100, everyMs = 100, maxTicks = 10_000) {
  let stopped = false;
  let offset = 0;
  const done = (async () => {
    for (let t = 0; t < maxTicks && !stopped; t++) {
      const picked = Array.from({ length: perTick }, (_, k) => users[(offset + k * 97) % users.length]);
      offset += 1;
      await gw.served(picked, 16).catch(() => undefined);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
    },
  };
}

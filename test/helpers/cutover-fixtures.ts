import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PgScratch } from './pg-scratch';

const departments = ['IT', 'Sales', 'HR', 'Finance', 'Operations'] as const;

/** User i: department by i mod 5, a manager every 7th (so managers cross every department: i ≡ 0 mod 35 is an IT manager). */
export const userOf = (i: number) => ({
  id: i,
  department: departments[i % 5],
  role: i % 7 === 0 ? 'manager' : 'staff',
});

/** A users table of `n` users (ids 1..n) in `schema`, filled by one INSERT … SELECT generate_series. */
export async function seedUsers(pg: PgScratch, schema: string, n: number, table = 'users'): Promise<string> {
  const name = `${schema}.${table}`;
  await pg.query(`CREATE TABLE ${name} (id bigint PRIMARY KEY, department text NOT NULL, role text NOT NULL)`);
  await pg.query(
    `INSERT INTO ${name} SELECT i, (ARRAY['IT','Sales','HR','Finance','Operations'])[i % 5 + 1], CASE WHEN i % 7 = 0 THEN 'manager' ELSE 'staff' END
     FROM generate_series(1, $1::int) AS i`,
    [n],
  );
  return name;
}

/** Ids 1..n of users matching a predicate, as strings (how the store and the router keep them). */
export const idsWhere = (n: number, pred: (u: ReturnType<typeof userOf>) => boolean) =>
  Array.from({ length: n }, (_, k) => userOf(k + 1))
    .filter(pred)
    .map((u) => String(u.id));

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let s = '';
    req.on('data', (d) => (s += d));
    req.on('end', () => resolve(s));
  });

/**
 * The runbook's two APIs on one loopback server, each checking `Authorization: Bearer <token>`:
 * `POST /users/filter` over `users` (cursor-paged) and `PUT`/`GET /routing/user/{id}` over an
 * in-memory routing table. `failFirst` answers the first N PUTs of each user with 503 (or 429 with
 * Retry-After 0 every other time), to prove retries; `puts` counts every PUT per user.
 * The trouble a router can make: `failPutsFor(id)` answers 503 to every PUT of that user (its
 * retries run out); `dropPutsFor(id, system)` answers 200 but stores nothing (a write that is lost);
 * `holdPutsAfter` leaves every PUT after that many unanswered until `releasePuts()` (a move caught
 * mid-way, for a worker to be killed there).
 */
export class RunbookApis {
  readonly routes = new Map<string, string>();
  readonly puts = new Map<string, number>();
  unauthorized = 0;
  failFirst = 0;
  failPutsFor: (id: string) => boolean = () => false;
  dropPutsFor: (id: string, system: string) => boolean = () => false;
  holdPutsAfter?: number;
  /** PUTs answered 503 in an outage (failNextPuts): refused before they count in `puts`. */
  refusedPuts = 0;
  private outage = 0;
  private held: (() => void)[] = [];
  private failures = new Map<string, number>();
  private server?: Server;
  url = '';

  constructor(
    readonly token: string,
    private users: { id: number; department: string; role: string }[] = [],
  ) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api`;
  }

  /** Answers the held PUTs (to whoever still listens) and holds no more. */
  releasePuts(): void {
    this.holdPutsAfter = undefined;
    for (const go of this.held.splice(0)) go();
  }

  /** An outage of the routing API: the next `n` PUTs are answered 503 and change nothing. */
  failNextPuts(n: number): void {
    this.outage = n;
  }

  /** PUTs received in all. */
  putCount(): number {
    let n = 0;
    for (const k of this.puts.values()) n += k;
    return n;
  }

  async stop(): Promise<void> {
    this.releasePuts();
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const body = await readBody(req);
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      this.unauthorized++;
      return this.send(res, 401, { error: 'bad token' });
    }
    const url = req.url ?? '';
    if (req.method === 'POST' && url === '/api/users/filter') {
      const { filter, limit, cursor } = JSON.parse(body) as {
        filter: Record<string, string[]>;
        limit: number;
        cursor: string | null;
      };
      const match = this.users.filter((u) =>
        Object.entries(filter).every(([f, vs]) => vs.includes(String((u as Record<string, unknown>)[f]))),
      );
      const from = cursor === null ? 0 : Number(cursor);
      const page = match.slice(from, from + limit);
      return this.send(res, 200, {
        users: page.map((u) => ({ id: String(u.id) })),
        next_cursor: from + limit < match.length ? String(from + limit) : null,
      });
    }
    const m = /^\/api\/routing\/user\/([^/]+)$/.exec(url);
    if (m) {
      const id = decodeURIComponent(m[1]);
      if (req.method === 'GET')
        return this.routes.has(id)
          ? this.send(res, 200, { target_system: this.routes.get(id) })
          : this.send(res, 404, { error: 'no route' });
      if (req.method === 'PUT') {
        if (this.outage > 0) {
          this.outage--;
          this.refusedPuts++;
          return this.send(res, 503, { error: 'routing API unavailable' });
        }
        this.puts.set(id, (this.puts.get(id) ?? 0) + 1);
        if (this.holdPutsAfter !== undefined && this.putCount() > this.holdPutsAfter)
          await new Promise<void>((go) => this.held.push(go));
        if (this.failPutsFor(id)) return this.send(res, 503, { error: 'backend down for this user' });
        const failed = this.failures.get(id) ?? 0;
        if (failed < this.failFirst) {
          this.failures.set(id, failed + 1);
          return failed % 2 === 0
            ? this.send(res, 503, { error: 'busy' })
            : this.send(res, 429, { error: 'slow down' }, { 'retry-after': '0' });
        }
        const system = (JSON.parse(body) as { target_system: string }).target_system;
        if (!this.dropPutsFor(id, system)) this.routes.set(id, system);
        return this.send(res, 200, { ok: true });
      }
    }
    this.send(res, 404, { error: 'not found' });
  }
}

import { createServer, type Server } from 'node:http';

/**
 * A local LB API in the runbook's format: `POST /api/config` with a bearer token and
 * `{"traffic_split":{...},"target_users":[...]}`, `GET` reads it back; it refuses a wrong token and
 * systems it does not know, like a real one would.
 */
export class LbApi {
  config: { traffic_split: Record<string, number>; target_users?: string[] } = {
    traffic_split: { old_system: 100, new_system: 0 },
  };
  states: Record<string, string> = {};
  posts: { path: string; auth?: string; body: any }[] = [];
  private server?: Server;
  port = 0;
  /**
   * The token it accepts: a test revokes it by setting another one. Without `serverStates` it is
   * the runbook's API exactly: only `/api/config`, no `/api/servers/<name>/state` (404).
   */
  constructor(
    public token: string,
    private readonly opts: { serverStates?: boolean } = {},
  ) {}

  /** Starts on a free port, or on `port` again (the same API back after `stop()`, its state kept). */
  async start(port = 0) {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const send = (status: number, body: unknown) =>
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        if (req.headers.authorization !== `Bearer ${this.token}`) return send(401, { error: 'bad token' });
        const body = raw ? JSON.parse(raw) : undefined;
        if (req.method === 'POST') this.posts.push({ path: req.url!, auth: req.headers.authorization, body });
        if (req.url === '/api/config' && req.method === 'GET') return send(200, this.config);
        if (req.url === '/api/config' && req.method === 'POST') {
          const unknown = Object.keys(body.traffic_split ?? {}).find((k) => !['old_system', 'new_system'].includes(k));
          if (unknown) return send(400, { error: `unknown system ${unknown}` });
          this.config = {
            traffic_split: body.traffic_split,
            ...(body.target_users ? { target_users: body.target_users } : {}),
          };
          return send(200, { ok: true });
        }
        const m = /^\/api\/servers\/([^/]+)\/state$/.exec(req.url ?? '');
        if (m && this.opts.serverStates === false) return send(404, { error: 'not found' });
        if (m && req.method === 'POST') {
          this.states[m[1]] = body.state;
          return send(200, { ok: true });
        }
        if (m) return send(200, { state: this.states[m[1]] ?? 'ready' });
        send(404, { error: 'not found' });
      });
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }
  async stop() {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json?: any;
}

export interface ReceiverOptions {
  /** Answer this many requests with HTTP 500 after recording them (to force a retry). */
  failFirst?: number;
  /** Record a request whose Idempotency-Key (or `key(req)`) was seen before only once. */
  honourKey?: boolean | ((req: ReceivedRequest) => string | undefined);
  /** The status of a successful answer (PagerDuty answers 202). */
  okStatus?: number;
  okBody?: unknown;
  /** Require this bearer token; others get 401. */
  bearer?: string;
  /** Refuse every request with this status and body, as a receiver that will not take it (e.g. 403). */
  refuse?: { status: number; body: string };
}

/**
 * A local HTTP receiver that records what it is sent: the stand-in for Slack, a webhook, PagerDuty
 * or an SMS API in tests. With `honourKey` it behaves like a receiver that de-duplicates by key.
 */
export class HttpReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** Every request that arrived, duplicates and failures included. */
  readonly attempts: ReceivedRequest[] = [];
  /** Every request answered with success, duplicates included: what was delivered, counted honestly. */
  readonly accepted: ReceivedRequest[] = [];
  /** Requests still to be answered 503 in the current outage (see failNext). */
  private outage = 0;
  private server?: Server;
  private seen = new Set<string>();
  port = 0;

  constructor(private readonly options: ReceiverOptions = {}) {}

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = body ? JSON.parse(body) : undefined;
        } catch {
          json = undefined;
        }
        const r: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json };
        this.attempts.push(r);
        if (this.options.bearer && req.headers.authorization !== `Bearer ${this.options.bearer}`) {
          res.writeHead(401).end('unauthorized');
          return;
        }
        if (this.outage > 0) {
          // down for a burst: the sender must try again, the message is not taken
          this.outage--;
          res.writeHead(503).end('unavailable');
          return;
        }
        if (this.options.refuse) {
          res.writeHead(this.options.refuse.status, { 'content-type': 'text/plain' }).end(this.options.refuse.body);
          return;
        }
        const honour = this.options.honourKey;
        const key =
          typeof honour === 'function'
            ? honour(r)
            : honour
              ? (req.headers['idempotency-key'] as string | undefined)
              : undefined;
        if (!(key && this.seen.has(key))) {
          this.requests.push(r);
          if (key) this.seen.add(key);
        }
        if (this.attempts.length <= (this.options.failFirst ?? 0)) {
          res.writeHead(500).end('induced failure');
          return;
        }
        this.accepted.push(r);
        res.writeHead(this.options.okStatus ?? 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(this.options.okBody ?? { ok: true }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this;
  }

  /** An outage: the next `n` requests are answered 503 and not taken (neither in requests nor accepted). */
  failNext(n: number): void {
    this.outage = n;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP API that refuses every request and, as some real ones do, says in its error body exactly
 * what credentials it was sent: the Authorization header (a Basic one decoded), the path (where a
 * Slack-style webhook URL keeps its secret) and the start of the request body (where PagerDuty's
 * routing key travels). It stands for a directory, routing API, LB API or notification receiver
 * whose error text would carry opsflow's secret into a failure message.
 */
export class EchoingApi {
  readonly requests: { method: string; path: string; authorization?: string; body: string }[] = [];
  private server?: Server;
  url = '';

  constructor(private readonly status = 401) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const authorization = req.headers.authorization;
        this.requests.push({ method: req.method ?? '', path: req.url ?? '', authorization, body });
        const basic = /^Basic (.+)$/.exec(authorization ?? '')?.[1];
        const credentials = basic ? Buffer.from(basic, 'base64').toString('utf8') : authorization;
        const error = `invalid or revoked credentials: ${credentials ?? '(none)'} on ${req.url}; request began ${JSON.stringify(body.slice(0, 120))}`;
        res.writeHead(this.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error }));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

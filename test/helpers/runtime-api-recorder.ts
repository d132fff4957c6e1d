import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A loopback TCP relay in front of an HAProxy Runtime API port that keeps every command line sent
 * through it, in order: what the workers really asked HAProxy to do (HAProxy keeps no history of
 * `set server` commands), so a test can count each weight or state change, retries included.
 */
export class RuntimeApiRecorder {
  readonly commands: string[] = [];
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly apiPort: number) {}

  async start(): Promise<this> {
    this.server = createServer((client) => {
      const upstream = createConnection(this.apiPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
      }
      let pending = '';
      client.on('data', (d) => {
        pending += d.toString('utf8');
        for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
          this.commands.push(pending.slice(0, i).trim());
          pending = pending.slice(i + 1);
        }
      });
      client.on('end', () => pending.trim() && this.commands.push(pending.trim()));
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** The `set server <backend>/<server> <what>` commands sent, as `<server> <what>` (e.g. `green weight 20`). */
  changes(backend = 'app'): string[] {
    const prefix = `set server ${backend}/`;
    return this.commands.filter((c) => c.startsWith(prefix)).map((c) => c.slice(prefix.length));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
  }
}

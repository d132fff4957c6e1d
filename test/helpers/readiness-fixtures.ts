import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttps, type Server as HttpsServer } from 'node:https';
import { createServer as createHttp, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessGroup } from './processes';
import { freePort, waitFor } from './ports';

const OPENSSL_BIN = process.env.OPENSSL_BIN ?? '/usr/bin/openssl';
const DNSMASQ_BIN = process.env.DNSMASQ_BIN ?? '/usr/sbin/dnsmasq';

const openssl = (args: string[], cwd: string) => {
  try {
    execFileSync(OPENSSL_BIN, args, { cwd, stdio: 'pipe' });
  } catch (err) {
    throw new Error(
      `openssl ${args[0]} failed (${OPENSSL_BIN}; scripts/setup.sh installs openssl): ${(err as Error).message}`,
    );
  }
};

/** A private CA (openssl) that signs leaf certificates for given names and lifetimes. */
export class TestCa {
  readonly dir = mkdtempSync(join(tmpdir(), 'opsflow-ca-'));
  readonly caFile = join(this.dir, 'ca.pem');

  constructor() {
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        'ca.key',
        '-out',
        'ca.pem',
        '-subj',
        '/CN=opsflow test CA',
        '-days',
        '30',
      ],
      this.dir,
    );
  }

  /** A key and a certificate for `name`, valid for `days` days from now, signed by this CA. */
  leaf(file: string, name: string, days: number): { key: Buffer; cert: Buffer } {
    writeFileSync(join(this.dir, `${file}.ext`), `subjectAltName=DNS:${name}\n`);
    openssl(
      [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        `${file}.key`,
        '-out',
        `${file}.csr`,
        '-subj',
        `/CN=${name}`,
      ],
      this.dir,
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${file}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        String(days),
        '-out',
        `${file}.pem`,
        '-extfile',
        `${file}.ext`,
      ],
      this.dir,
    );
    return { key: readFileSync(join(this.dir, `${file}.key`)), cert: readFileSync(join(this.dir, `${file}.pem`)) };
  }

  cleanUp(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** An HTTPS server on loopback presenting the given certificate. */
export async function httpsServer(tls: {
  key: Buffer;
  cert: Buffer;
}): Promise<{ port: number; stop: () => Promise<void> }> {
  const server: HttpsServer = createHttps(tls, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { port, stop: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}

/** dnsmasq (Debian) on a loopback port answering only from a hosts file the test writes. */
export class Dnsmasq {
  readonly dir = mkdtempSync(join(tmpdir(), 'opsflow-dns-'));
  port = 0;
  private child?: ChildProcess;

  constructor(
    private readonly processes: ProcessGroup,
    private readonly hosts: Record<string, string>,
  ) {}

  get server(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.port = await freePort();
    const hostsFile = join(this.dir, 'hosts');
    writeFileSync(
      hostsFile,
      Object.entries(this.hosts)
        .map(([name, ip]) => `${ip} ${name}\n`)
        .join(''),
    );
    this.child = this.processes.spawn(DNSMASQ_BIN, [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      `--port=${this.port}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      `--addn-hosts=${hostsFile}`,
      '--pid-file=',
      '--user=root',
      '--log-facility=-',
    ]);
    const output = ProcessGroup.output(this.child);
    const exited = new Promise<never>((_, reject) =>
      this.child!.once('exit', (code) =>
        reject(
          new Error(
            `dnsmasq exited (${code}) (${DNSMASQ_BIN}; scripts/setup.sh installs dnsmasq-base): ${output().slice(-1000)}`,
          ),
        ),
      ),
    );
    exited.catch(() => undefined);
    const { promises: dns } = await import('node:dns');
    const resolver = new dns.Resolver({ timeout: 500, tries: 1 });
    resolver.setServers([this.server]);
    const first = Object.keys(this.hosts)[0];
    await Promise.race([
      exited,
      waitFor(
        'dnsmasq answering',
        () =>
          resolver.resolve4(first).then(
            () => true,
            () => undefined,
          ),
        15_000,
        200,
      ),
    ]);
    return this;
  }

  /** SIGHUP: dnsmasq re-reads its hosts file (a record "fixed" mid-test). */
  reload(): void {
    process.kill(this.child!.pid!, 'SIGHUP');
  }

  async stop(): Promise<void> {
    if (this.child) await this.processes.kill(this.child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A small application with the endpoints a go-live checks: `PUT/GET /files/<key>` (storage in
 * memory; `corrupt` flips a byte on the way back) and `/private` that wants `Bearer <token>`
 * (`openToAll` lets every credential in, as a broken auth would), and `/metrics` for Prometheus.
 */
export class ReadinessApp {
  readonly files = new Map<string, Buffer>();
  corrupt = false;
  openToAll = false;
  port = 0;
  private server?: HttpServer;

  constructor(readonly token: string) {}

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createHttp((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const file = /^\/files\/(.+)$/.exec(req.url ?? '');
        if (file && req.method === 'PUT') {
          this.files.set(file[1], Buffer.concat(chunks));
          res.writeHead(201).end();
        } else if (file && req.method === 'GET') {
          const body = this.files.get(file[1]);
          if (!body) return void res.writeHead(404).end();
          const out = Buffer.from(body);
          if (this.corrupt) out[0] ^= 0xff;
          res.writeHead(200).end(out);
        } else if (req.url === '/metrics') {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('readiness_app_up 1\n');
        } else if (req.url === '/private') {
          const ok = this.openToAll || req.headers.authorization === `Bearer ${this.token}`;
          res.writeHead(ok ? 200 : 401).end(ok ? 'welcome' : 'no');
        } else res.writeHead(404).end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}

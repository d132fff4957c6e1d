import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { request } from 'undici';
import { ProcessGroup } from './processes';
import { freePort, waitForHttpOk } from './ports';

const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

/**
 * A local exporter of the metrics a web service exposes: `http_requests_total{service,code}` and
 * `http_request_duration_seconds` (histogram). `traffic(service, perSecond, errorShare, seconds)`
 * makes the counters move like real traffic would.
 */
export class Exporter {
  private series = new Map<string, number>();
  private errorShares = new Map<string, number>();
  private timers: NodeJS.Timeout[] = [];
  private server?: Server;
  port = 0;

  async start(): Promise<this> {
    this.server = createServer((_req, res) => {
      const lines = [...this.series.entries()].map(([k, v]) => `${k} ${v}`);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(lines.join('\n') + '\n');
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  private add(key: string, by: number) {
    this.series.set(key, (this.series.get(key) ?? 0) + by);
  }

  /** Declares a service's series at 0 (so that a query finds series but no traffic: NaN). */
  declare(service: string) {
    for (const code of ['200', '500']) this.add(`http_requests_total{service="${service}",code="${code}"}`, 0);
    for (const le of ['0.05', '0.1', '0.5', '+Inf'])
      this.add(`http_request_duration_seconds_bucket{service="${service}",le="${le}"}`, 0);
    this.add(`http_request_duration_seconds_sum{service="${service}"}`, 0);
    this.add(`http_request_duration_seconds_count{service="${service}"}`, 0);
  }

  /** Every 100 ms: perSecond/10 requests, errorShare of them 5xx, each taking latencySeconds (≤ 0.1). */
  traffic(service: string, perSecond: number, errorShare: number, latencySeconds: number) {
    this.declare(service);
    this.errorShares.set(service, errorShare);
    const n = perSecond / 10;
    this.timers.push(
      setInterval(() => {
        const share = this.errorShares.get(service) ?? 0;
        this.add(`http_requests_total{service="${service}",code="500"}`, n * share);
        this.add(`http_requests_total{service="${service}",code="200"}`, n * (1 - share));
        for (const le of ['0.1', '0.5', '+Inf'])
          this.add(`http_request_duration_seconds_bucket{service="${service}",le="${le}"}`, n);
        this.add(`http_request_duration_seconds_sum{service="${service}"}`, n * latencySeconds);
        this.add(`http_request_duration_seconds_count{service="${service}"}`, n);
      }, 100),
    );
  }

  /** From now on, this share of the service's requests fail with 5xx. */
  setErrorShare(service: string, share: number) {
    this.errorShares.set(service, share);
  }

  async stop() {
    this.timers.forEach(clearInterval);
    this.server?.closeAllConnections();
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
  }
}

/** A real Prometheus (the Debian package) scraping the given targets every second, storage in a temp dir. */
export class Prometheus {
  readonly dir = mkdtempSync(join(tmpdir(), 'opsflow-prometheus-'));
  port = 0;
  private child?: ChildProcess;
  private output?: () => string;

  /** `rules`: a rule file (YAML) Prometheus loads, for tests of the rules API. */
  constructor(
    private readonly processes: ProcessGroup,
    private readonly targets: string[],
    private readonly rules?: string,
  ) {}

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.port = await freePort();
    const cfg = join(this.dir, 'prometheus.yml');
    const ruleFile = join(this.dir, 'rules.yml');
    if (this.rules) writeFileSync(ruleFile, this.rules);
    writeFileSync(
      cfg,
      (this.rules ? `rule_files: ["${ruleFile}"]\n` : '') +
        `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: [${this.targets.map((t) => `"${t}"`).join(', ')}]\n`,
    );
    this.child = this.processes.spawn(PROMETHEUS_BIN, [
      `--config.file=${cfg}`,
      `--storage.tsdb.path=${join(this.dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${this.port}`,
    ]);
    this.output = ProcessGroup.output(this.child);
    try {
      await waitForHttpOk('Prometheus ready', `${this.url}/-/ready`, 60_000);
    } catch (err) {
      throw new Error(
        `Prometheus did not start (${PROMETHEUS_BIN}; scripts/setup.sh installs it): ${(err as Error).message}\n${this.output().slice(-2000)}`,
      );
    }
    return this;
  }

  /** Runs an instant query (for waiting until data is there). */
  async query(q: string): Promise<any> {
    const res = await request(`${this.url}/api/v1/query?${new URLSearchParams({ query: q })}`);
    return res.body.json();
  }

  async stop(): Promise<void> {
    if (this.child) await this.processes.kill(this.child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { request } from 'undici';
import { ProcessGroup } from './processes';
import { freePort, waitForHttpOk } from './ports';

const ALERTMANAGER_BIN = process.env.ALERTMANAGER_BIN ?? '/usr/bin/prometheus-alertmanager';

export interface PostedAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
}

/**
 * A real Prometheus Alertmanager on a loopback port whose one receiver is a webhook (opsflow's
 * alert receiver), with the bearer token read from a file as in production. Clustering is off and
 * its storage is a temp dir; group_wait is short so a posted alert is delivered within seconds.
 */
export class Alertmanager {
  port = 0;
  private readonly dir = mkdtempSync(join(tmpdir(), 'opsflow-alertmanager-'));
  private child?: ChildProcess;
  private output: () => string = () => '';

  constructor(
    private readonly processes: ProcessGroup,
    private readonly webhook: { url: string; token: string },
  ) {}

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.port = await freePort();
    const tokenFile = join(this.dir, 'opsflow-token');
    writeFileSync(tokenFile, this.webhook.token, { mode: 0o600 });
    const cfg = join(this.dir, 'alertmanager.yml');
    writeFileSync(
      cfg,
      [
        'route:',
        '  receiver: opsflow',
        '  group_by: [alertname]',
        '  group_wait: 1s',
        '  group_interval: 5s',
        '  repeat_interval: 1h',
        'receivers:',
        '  - name: opsflow',
        '    webhook_configs:',
        `      - url: ${JSON.stringify(this.webhook.url)}`,
        '        send_resolved: true',
        '        http_config:',
        '          authorization:',
        '            type: Bearer',
        `            credentials_file: ${JSON.stringify(tokenFile)}`,
        '',
      ].join('\n'),
    );
    this.child = this.processes.spawn(ALERTMANAGER_BIN, [
      `--config.file=${cfg}`,
      `--storage.path=${join(this.dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${this.port}`,
      // empty: no gossip listener at all (the default binds 0.0.0.0:9094)
      '--cluster.listen-address=',
    ]);
    this.output = ProcessGroup.output(this.child);
    try {
      await waitForHttpOk('Alertmanager ready', `${this.url}/-/ready`, 60_000);
    } catch (err) {
      throw new Error(
        `Alertmanager did not start (${ALERTMANAGER_BIN}; scripts/setup.sh installs prometheus-alertmanager): ${(err as Error).message}\n${this.log().slice(-2000)}`,
      );
    }
    return this;
  }

  /** Posts firing alerts to Alertmanager's API v2, as Prometheus does. */
  async post(alerts: PostedAlert[]): Promise<void> {
    const startsAt = new Date().toISOString();
    const res = await request(`${this.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        alerts.map((a) => ({
          labels: a.labels,
          annotations: a.annotations ?? {},
          startsAt,
          generatorURL: 'http://127.0.0.1:9090/graph',
        })),
      ),
    });
    const body = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`Alertmanager refused the alerts: ${res.statusCode} ${body}`);
  }

  /** What Alertmanager logged (its notification errors name the webhook's answer). */
  log(): string {
    return this.output();
  }

  async stop(): Promise<void> {
    if (this.child) await this.processes.kill(this.child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

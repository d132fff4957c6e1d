import { join, resolve } from 'node:path';
import { request } from 'undici';
import { Stack, writeConfig } from '../helpers/stack';
import { HttpReceiver } from '../helpers/http-receiver';
import { freePort, waitFor, waitForPort } from '../helpers/ports';
import { pgConnection, requirePostgres } from '../helpers/services';
import { PgScratch } from '../helpers/pg-scratch';
import { ProcessGroup } from '../helpers/processes';
import { Alertmanager } from '../helpers/alertmanager';
import { testToken } from '../helpers/tokens';
import { recordHistory } from '../helpers/histories';
import { resolveSignal, statusQuery } from '../../src/workflows/incident/messages';

const root = resolve(__dirname, '../..');
const TOKEN = testToken('alertmanager-severity');
jest.setTimeout(180_000);

/**
 * Alertmanager's own `severity` label, end to end: alerts posted to a real Prometheus Alertmanager
 * (API v2) reach `opsflow alerts serve` through its webhook; `severity: critical` opens a P1 that
 * pages, `severity: warning` a P2, `opsflow_severity` still overrides, and an alert that neither a
 * rule nor a label decides is a P3 that says so on its timeline and in the receiver's log.
 */
describe("Alertmanager's severity label decides the incident's level", () => {
  let stack: Stack;
  let alertmanager: Alertmanager;
  const pg = new PgScratch('inc_am_sev');
  const pager = new HttpReceiver();
  const chat = new HttpReceiver();
  const procs = new ProcessGroup();
  let receiverLog = () => '';
  let schema = '';

  beforeAll(async () => {
    await requirePostgres();
    stack = await Stack.start();
    await pager.start();
    await chat.start();
    schema = await pg.schema();
    const receiverPort = await freePort();
    process.env.OPSFLOW_TEST_AM_SEVERITY = TOKEN;
    const config = {
      postgres: { main: { ...pgConnection } },
      notifiers: {
        pager: { type: 'webhook', url: `${pager.url}/page` },
        chat: { type: 'webhook', url: `${chat.url}/chat` },
      },
      incident: {
        store: { postgres: 'main', schema },
        notify: { P0: ['pager'], P1: ['pager'], P2: ['chat'] },
        remediation: { runbooks: { P0: [], P1: [], P2: [], P3: [] } },
        receiver: { token: { env: 'OPSFLOW_TEST_AM_SEVERITY' }, port: receiverPort },
      },
    };
    const configPath = writeConfig(config);
    await stack.startWorker(config);
    const child = procs.spawn(
      join(root, 'node_modules/.bin/tsx'),
      [join(root, 'src/client/cli.ts'), '-c', configPath, 'alerts', 'serve'],
      {
        cwd: root,
        env: { ...process.env, TEMPORAL_ADDRESS: stack.temporalAddress() },
      },
    );
    receiverLog = ProcessGroup.output(child);
    await waitForPort(receiverPort, '127.0.0.1', 60_000).catch((e) => {
      throw new Error(`${e.message}\n${receiverLog()}`);
    });
    alertmanager = await new Alertmanager(procs, {
      url: `http://127.0.0.1:${receiverPort}/alertmanager`,
      token: TOKEN,
    }).start();
  }, 180_000);

  afterAll(async () => {
    await alertmanager?.stop();
    await procs.stopAll();
    await stack?.stop();
    await pager.stop();
    await chat.stop();
    await pg.drop();
  }, 60_000);

  /** Alertmanager's fingerprint of each alert, by alertname, from its own API. */
  const fingerprints = async (names: string[]) =>
    waitFor(
      'the alerts in Alertmanager',
      async () => {
        const res = await request(`${alertmanager.url}/api/v2/alerts`);
        const alerts = (await res.body.json()) as { fingerprint: string; labels: Record<string, string> }[];
        const byName = Object.fromEntries(alerts.map((a) => [a.labels.alertname, a.fingerprint]));
        return names.every((n) => n in byName) ? byName : undefined;
      },
      30_000,
      250,
    );

  const statusOf = (fp: string) => stack.client.workflow.getHandle(`incident-${fp}`).query(statusQuery);
  /** The incident once it has told people (or recorded its P3 for the digest). */
  const settled = (fp: string) =>
    waitFor(
      `incident-${fp} to notify`,
      async () => {
        try {
          const s = await statusOf(fp);
          return s.timeline.some((e) => e.kind === 'notified' || e.kind === 'digest') ? s : undefined;
        } catch {
          return undefined;
        }
      },
      60_000,
      250,
    );

  test('critical pages as P1, warning as P2, opsflow_severity overrides, and a P3 nobody decided says so', async () => {
    await alertmanager.post([
      {
        labels: { alertname: 'CheckoutLatencyHigh', severity: 'critical', service: 'checkout' },
        annotations: { summary: 'checkout p99 over 2 s' },
      },
      {
        labels: { alertname: 'QueueBacklogGrowing', severity: 'warning', service: 'orders' },
        annotations: { summary: 'order queue backlog growing' },
      },
      {
        labels: { alertname: 'StagingDiskFull', severity: 'critical', opsflow_severity: 'P3' },
        annotations: { summary: 'staging disk full' },
      },
      { labels: { alertname: 'CertificateRotated' }, annotations: { summary: 'a certificate was rotated' } },
    ]);
    const fp = await fingerprints([
      'CheckoutLatencyHigh',
      'QueueBacklogGrowing',
      'StagingDiskFull',
      'CertificateRotated',
    ]);

    const critical = await settled(fp.CheckoutLatencyHigh);
    expect([critical.severity, critical.severityReason]).toEqual(['P1', 'severity label "critical"']);
    const warning = await settled(fp.QueueBacklogGrowing);
    expect([warning.severity, warning.severityReason]).toEqual(['P2', 'severity label "warning"']);
    const overridden = await settled(fp.StagingDiskFull);
    expect(overridden.severity).toBe('P3');
    const undecided = await settled(fp.CertificateRotated);
    expect(undecided.severity).toBe('P3');
    expect(undecided.timeline.find((e) => e.kind === 'classified')?.message).toMatch(
      /^no severity rule matched and no severity label: P3; /,
    );

    // The pages: the critical alert's P1 at the pager, the warning's P2 in the chat, nothing for the P3s.
    const pages = await waitFor(
      'the P1 page and the P2 message',
      async () => (pager.requests.length && chat.requests.length ? true : undefined),
      30_000,
      250,
    );
    expect(pages).toBe(true);
    expect(pager.requests.map((r) => [r.json.details.workflowId, r.json.details.severity])).toEqual([
      [`incident-${fp.CheckoutLatencyHigh}`, 'P1'],
    ]);
    expect(chat.requests.map((r) => [r.json.details.workflowId, r.json.details.severity])).toEqual([
      [`incident-${fp.QueueBacklogGrowing}`, 'P2'],
    ]);

    // The receiver's log says the level of each alert it opened, and the undecided one in one line.
    await waitFor(
      'the receiver log lines',
      async () => (receiverLog().includes(`incident-${fp.CertificateRotated} firing`) ? true : undefined),
      30_000,
      250,
    );
    expect(receiverLog()).toContain(
      `incident-${fp.CertificateRotated} firing opened (no severity rule matched and no severity label: P3)`,
    );
    expect(receiverLog()).toContain(`incident-${fp.CheckoutLatencyHigh} firing opened (severity label "critical": P1)`);

    // Resolved: the P1's record (reserved beside the page) holds the level and why.
    const p1 = stack.client.workflow.getHandle(`incident-${fp.CheckoutLatencyHigh}`);
    await p1.signal(resolveSignal, { by: 'test' });
    expect(await p1.result()).toMatchObject({ severity: 'P1', state: 'resolved', postmortemStored: true });
    const [row] = await pg.query<{ severity: string; severity_reason: string }>(
      `SELECT severity, severity_reason FROM ${schema}.incidents WHERE workflow_id = $1`,
      [`incident-${fp.CheckoutLatencyHigh}`],
    );
    expect(row).toEqual({ severity: 'P1', severity_reason: 'severity label "critical"' });
    recordHistory(
      stack.temporalAddress(),
      `incident-${fp.CheckoutLatencyHigh}`,
      'incident-p1-severity-label-alertmanager',
    );
  });
});

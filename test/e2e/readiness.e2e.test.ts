import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { Stack, waitFor, writeConfig } from '../helpers/stack';
import { Prometheus } from '../helpers/prometheus';
import { HttpReceiver } from '../helpers/http-receiver';
import { SmtpReceiver } from '../helpers/smtp-receiver';
import { freePort } from '../helpers/ports';
import { recordHistory } from '../helpers/histories';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, requirePostgres } from '../helpers/services';
import { Dnsmasq, ReadinessApp, TestCa, httpsServer } from '../helpers/readiness-fixtures';
import { readinessCheckWorkflow, type ReadinessResult } from '../../src/workflows/readiness/workflow';
import { recheckSignal, signOffUpdate, statusQuery, waiveUpdate } from '../../src/workflows/readiness/messages';
import type { ReadinessStatus } from '../../src/workflows/readiness/state';
import { backupWorkflow } from '../../src/workflows';
import { testToken } from '../helpers/tokens';
const APP_TOKEN = testToken('readiness-app');

/**
 * The readiness gate end to end on the dev server, against real things the test starts: the
 * failing items are reported with their evidence; a sign-off, a fixed DNS record re-checked by
 * signal, and waivers (one lapsing mid-run, which shuts the gate again) move the verdict to READY.
 */
describe('readiness gate end to end', () => {
  let stack: Stack;
  const ca = new TestCa();
  const servers: { stop: () => Promise<void> }[] = [];
  let dns: Dnsmasq;
  let prometheus: Prometheus;
  let webhook: HttpReceiver;
  let smtp: SmtpReceiver;
  let app: ReadinessApp;
  let configPath: string;
  const scratch = new PgScratch('opsflow_test_ready_e2e');
  const backupDest = mkdtempSync(join(tmpdir(), 'opsflow-readiness-e2e-backup-'));

  beforeAll(async () => {
    await requirePostgres();
    const appDb = await scratch.database();
    await scratch.query(
      `CREATE TABLE orders (id int PRIMARY KEY, total numeric(10,2)); INSERT INTO orders SELECT g, g / 3.0 FROM generate_series(1, 1000) g`,
      [],
      appDb,
    );
    stack = await Stack.start();
    const valid = await httpsServer(ca.leaf('valid', 'shop.test', 90));
    const expiring = await httpsServer(ca.leaf('expiring', 'shop.test', 3));
    servers.push(valid, expiring);
    dns = await new Dnsmasq(stack.processes, { 'shop.test': '127.0.0.10', 'api.shop.test': '127.0.0.99' }).start();
    app = await new ReadinessApp(APP_TOKEN).start();
    webhook = await new HttpReceiver().start();
    smtp = await new SmtpReceiver().start();
    prometheus = await new Prometheus(
      stack.processes,
      [`127.0.0.1:${app.port}`, `127.0.0.1:${await freePort()}`],
      'groups:\n  - name: shop\n    rules:\n      - alert: ShopDown\n        expr: up == 0\n',
    ).start();
    const tls = (id: string, port: number) => ({
      id,
      check: 'tls',
      host: '127.0.0.1',
      port,
      servername: 'shop.test',
      caFile: ca.caFile,
    });
    const config = {
      http: { 'app-metrics': { url: `${app.url}/metrics` } },
      notifiers: {
        hook: { type: 'webhook', url: `${webhook.url}/hook` },
        mail: { type: 'email', host: '127.0.0.1', port: smtp.port, from: 'opsflow@test', to: ['ops@test'] },
      },
      metricSources: { prom: { type: 'prometheus', url: prometheus.url } },
      // A target name of its own keeps this test's drill databases apart from other tests' drills.
      postgres: { ready_e2e: { ...pgConnection, database: appDb } },
      backups: { nightly: { databases: ['ready_e2e'], destination: backupDest } },
      readiness: {
        checklists: {
          shop: {
            items: [
              tls('cert', valid.port),
              tls('cert-old', expiring.port),
              { id: 'dns-www', check: 'dns', name: 'shop.test', expect: ['127.0.0.10'], resolvers: [dns.server] },
              { id: 'dns-api', check: 'dns', name: 'api.shop.test', expect: ['127.0.0.10'], resolvers: [dns.server] },
              {
                id: 'files',
                check: 'roundTrip',
                uploadUrl: `${app.url}/files/{key}`,
                downloadUrl: `${app.url}/files/{key}`,
              },
              { id: 'login', check: 'auth', url: `${app.url}/private`, good: { env: 'READINESS_E2E_TOKEN' } },
              { id: 'scrape', check: 'prometheus', source: 'prom', jobs: ['app'], rules: ['ShopDown'] },
              { id: 'hook', check: 'notifier', notifier: 'hook' },
              { id: 'mail', check: 'notifier', notifier: 'mail' },
              { id: 'training', check: 'signOff', description: 'on-call rota published and trained' },
            ],
          },
          ops: { items: [{ id: 'health', check: 'healthCheck', within: '1h' }] },
          backups: { items: [{ id: 'backup', check: 'backup', set: 'nightly', maxAgeHours: 24 }] },
        },
      },
    };
    // The worker runs in this process: the good credential comes from its environment, as in production.
    process.env.READINESS_E2E_TOKEN = `Bearer ${APP_TOKEN}`;
    configPath = writeConfig(config);
    await stack.startWorker(config);
    // The Prometheus item must see the down target as down (not `unknown`) in the first round.
    await waitFor(
      'Prometheus scraped both targets',
      async () => {
        const r = await prometheus.query('up');
        return r.data?.result?.length === 2 ? true : undefined;
      },
      30_000,
      250,
    );
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([
      ...servers.map((s) => s.stop()),
      app?.stop(),
      webhook?.stop(),
      smtp?.stop(),
      dns?.stop(),
      prometheus?.stop(),
    ]);
    await scratch.drop();
    rmSync(backupDest, { recursive: true, force: true });
    ca.cleanUp();
  }, 60_000);

  test('started by the CLI: failing items with evidence; sign-off, recheck and waivers (one lapsing during the run) decide the verdict', async () => {
    const start = await stack.cli([
      '-c',
      configPath,
      'start',
      'readiness',
      '--input',
      JSON.stringify({ service: 'shop', checklist: 'shop', deadline: '10m', notify: ['hook'] }),
    ]);
    expect(start.stderr).toBe('');
    expect(start.code).toBe(0);
    const handle = stack.client.workflow.getHandle<typeof readinessCheckWorkflow>('readiness-shop');
    const status = () => handle.query(statusQuery);
    const first = await waitFor(
      'first round checked',
      async () => {
        const s = await status();
        return s.phase === 'waiting' ? s : undefined;
      },
      60_000,
      250,
    );
    expect(first.blocking).toEqual(['cert-old', 'dns-api', 'scrape', 'training']);
    const item = (s: ReadinessStatus, id: string) => s.items.find((i) => i.id === id)!;
    expect(item(first, 'cert-old').result!.evidence.find((e) => e.what === 'days to expiry')).toMatchObject({
      ok: false,
      threshold: '> 14 days',
    });
    expect(item(first, 'dns-api').result!.evidence[0]).toMatchObject({
      value: '127.0.0.99; missing 127.0.0.10; unexpected 127.0.0.99',
      target: `resolver ${dns.server}`,
    });
    expect(item(first, 'scrape').result!.message).toMatch(/targets of job app: 1\/2 up; down: 127\.0\.0\.1:\d+/);
    expect(first.items.filter((i) => i.verdict === 'passed').map((i) => i.id)).toEqual([
      'cert',
      'dns-www',
      'files',
      'login',
      'hook',
      'mail',
    ]);
    // Every channel got its test message.
    expect(webhook.requests.filter((r) => r.body.includes('readiness test'))).toHaveLength(1);
    expect(smtp.messages).toHaveLength(1);

    // An automated item cannot be signed: the Update is refused before it is recorded.
    const refused = await handle
      .executeUpdate(signOffUpdate, { args: [{ item: 'cert-old', by: 'alice' }] })
      .catch((e) => e);
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String(refused.cause?.message)).toContain('item: "cert-old" is an automated tls check');
    const signed = await handle.executeUpdate(signOffUpdate, {
      args: [{ item: 'training', by: 'alice', note: 'rota in the wiki' }],
    });
    expect(signed.blocking).toEqual(['cert-old', 'dns-api', 'scrape']);

    // The DNS record is fixed (dnsmasq re-reads its hosts file on SIGHUP) and the item re-checked by signal.
    writeFileSync(join(dns.dir, 'hosts'), '127.0.0.10 shop.test\n127.0.0.10 api.shop.test\n');
    dns.reload();
    await handle.signal(recheckSignal, { items: ['dns-api'], by: 'carol' });
    const rechecked = await waitFor(
      'dns-api re-checked',
      async () => {
        const s = await status();
        return s.rounds === 2 && s.phase === 'waiting' ? s : undefined;
      },
      30_000,
      250,
    );
    expect(item(rechecked, 'dns-api').verdict).toBe('passed');
    expect(rechecked.blocking).toEqual(['cert-old', 'scrape']);

    // A waiver that lapses during the run: the gate opens nothing, then the item blocks again by itself.
    const lapse = new Date(Date.now() + 4_000).toISOString();
    const waived = await handle.executeUpdate(waiveUpdate, {
      args: [{ item: 'scrape', by: 'dave', reason: 'old host decommissioned Friday', until: lapse }],
    });
    expect(waived.blocking).toEqual(['cert-old']);
    const lapsed = await waitFor(
      'the waiver lapsed',
      async () => {
        const s = await status();
        return s.blocking.includes('scrape') ? s : undefined;
      },
      30_000,
      250,
    );
    expect(item(lapsed, 'scrape').expiredWaiver).toMatchObject({ by: 'dave' });
    expect(lapsed.decisions.some((d) => d.startsWith('waiver of scrape by dave expired'))).toBe(true);

    const until = new Date(Date.now() + 7 * 86_400_000).toISOString();
    await handle.executeUpdate(waiveUpdate, {
      args: [{ item: 'scrape', by: 'dave', reason: 'old host removed from the job on Monday', until }],
    });
    await handle.executeUpdate(waiveUpdate, {
      args: [{ item: 'cert-old', by: 'erin', reason: 'renewal is automated, runs tonight', until }],
    });
    const result: ReadinessResult = await handle.result();
    expect(result.ready).toBe(true);
    expect(result.blocking).toEqual([]);
    expect(result.report).toContain('# Readiness of shop: READY');
    expect(result.report).toMatch(
      /\| cert-old \| tls \| ⚠️ waived \| waived by erin until .*renewal is automated.*✗ days to expiry of 127\.0\.0\.1:\d+: [23] days/,
    );
    expect(result.report).toContain('signed by alice');
    // The report reached the notifier once, as its own message after the test message.
    const reports = webhook.requests.filter((r) => r.body.includes('Readiness of shop: READY'));
    expect(reports).toHaveLength(1);
    recordHistory(stack.temporalAddress(), 'readiness-shop', 'readiness-signed-waived');
  }, 180_000);

  test('the health check ran green within the hour, from Temporal visibility: none yet fails; after a green run a recheck passes', async () => {
    const handle = await stack.client.workflow.start(readinessCheckWorkflow, {
      taskQueue: 'opsflow',
      workflowId: 'readiness-ops',
      args: [{ service: 'ops', checklist: 'ops', deadline: '2m' }],
    });
    const first = await waitFor(
      'first round',
      async () => {
        const s = await handle.query(statusQuery);
        return s.phase === 'waiting' ? s : undefined;
      },
      30_000,
      250,
    );
    expect(first.items[0].result!.evidence[0]).toMatchObject({
      what: 'green health check',
      ok: false,
      threshold: 'within 1h',
      target: 'Temporal visibility',
    });
    expect(first.items[0].result!.evidence[0].value).toMatch(/^none green/);

    const health = await stack.client.workflow.execute('healthCheckWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'health-check-for-readiness',
      args: [
        {
          targets: {
            http: ['app-metrics'],
            systemd: [],
            postgres: [],
            redis: [],
            hosts: [],
            backups: [],
            resources: false,
          },
        },
      ],
    });
    expect((health as { overall: string }).overall).toBe('healthy');
    await waitFor(
      'the green run is visible',
      async () => {
        for await (const w of stack.client.workflow.list({
          query: `WorkflowId = 'health-check-for-readiness' AND ExecutionStatus = 'Completed'`,
        }))
          return w;
        return undefined;
      },
      30_000,
      250,
    );
    await handle.signal(recheckSignal, { by: 'carol' });
    const result = await handle.result();
    expect(result.ready).toBe(true);
    expect(result.status.items[0].result!.evidence[0].value).toMatch(/^health-check-for-readiness at /);
  }, 120_000);

  test('a verified backup from the backup workflow: none yet fails; after a backup whose drill passed a recheck passes with the copy as evidence', async () => {
    const handle = await stack.client.workflow.start(readinessCheckWorkflow, {
      taskQueue: 'opsflow',
      workflowId: 'readiness-backups',
      args: [{ service: 'backups', checklist: 'backups', deadline: '2m' }],
    });
    const first = await waitFor(
      'first round',
      async () => {
        const s = await handle.query(statusQuery);
        return s.phase === 'waiting' ? s : undefined;
      },
      30_000,
      250,
    );
    expect(first.blocking).toEqual(['backup']);
    expect(first.items[0].result!.message).toBe(
      `newest verified copy: no verified copy at all (no copy in ${backupDest}) (needs restore drill passed, < 24 h old)`,
    );

    // The real backup: pg_dump of the database, then its restore drill into a scratch database.
    const backup = await stack.client.workflow.execute(backupWorkflow, {
      taskQueue: 'opsflow',
      workflowId: 'backup-for-readiness',
      args: [{ set: 'nightly' }],
    });
    expect(backup.drills).toEqual([expect.objectContaining({ database: 'ready_e2e', rows: 1000 })]);
    await handle.signal(recheckSignal, { by: 'carol' });
    const result = await handle.result();
    expect(result.ready).toBe(true);
    const [age, drill] = result.status.items[0].result!.evidence;
    expect(age).toMatchObject({ what: 'newest verified copy', target: join(backupDest, backup.copy), ok: true });
    expect(age.value).toMatch(new RegExp(`^${backup.copy} is 0(\\.\\d)? h old$`));
    expect(drill.value).toMatch(
      /^db-ready_e2e\.dump: restore drill passed \S+ \(restored in [\d.]+ s, 1 tables, 1000 rows\)$/,
    );
    expect(result.report).toMatch(/\| backup \| backup \| ✅ pass \|/);
  }, 120_000);

  test('the deadline closes the gate NOT READY with the blocking items', async () => {
    const handle = await stack.client.workflow.start(readinessCheckWorkflow, {
      taskQueue: 'opsflow',
      workflowId: 'readiness-shop-deadline',
      args: [{ service: 'shop-deadline', checklist: 'shop', deadline: '5s' }],
    });
    const result = await handle.result();
    expect(result.ready).toBe(false);
    // dns-api too, unless the test before fixed the record.
    expect(result.blocking).toEqual(expect.arrayContaining(['cert-old', 'scrape', 'training']));
    expect(result.report).toContain('# Readiness of shop-deadline: NOT READY');
    expect(result.status.decisions.at(-1)).toMatch(
      /^verdict: NOT READY \(cert-old, .*scrape, training\) — the gate's deadline .* passed$/,
    );
  }, 60_000);
});

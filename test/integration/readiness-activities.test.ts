import { parseConfigText } from '../../src/config/load';
import { readinessActivities } from '../../src/activities/readiness';
import type { CheckResult } from '../../src/domain/readiness/evidence';
import { runActivity } from '../helpers/activity';
import { ProcessGroup } from '../helpers/processes';
import { Prometheus } from '../helpers/prometheus';
import { HttpReceiver } from '../helpers/http-receiver';
import { SmtpReceiver } from '../helpers/smtp-receiver';
import { freePort } from '../helpers/ports';
import { Dnsmasq, ReadinessApp, TestCa, httpsServer } from '../helpers/readiness-fixtures';
import { Haproxy, startBackend } from '../helpers/haproxy';
import { SystemdStandin } from '../helpers/systemd-standin';
import { runtimeApiCommand } from '../../src/activities/systems/load-balancer/haproxy-runtime-api';
import { testToken } from '../helpers/tokens';
const APP_TOKEN = testToken('readiness-app');

/**
 * Each readiness check against the real system it reads: HTTPS servers with openssl-made
 * certificates, dnsmasq, a real Prometheus with a rule file and a down target, the SMTP and webhook
 * receivers, an upload/auth app. A failing item carries the evidence that makes it fail.
 */
describe('readiness checks against real systems', () => {
  const processes = new ProcessGroup();
  const ca = new TestCa();
  const servers: { stop: () => Promise<void> }[] = [];
  let dns: Dnsmasq;
  let prometheus: Prometheus;
  let webhook: HttpReceiver;
  let smtp: SmtpReceiver;
  let app: ReadinessApp;
  let acts: ReturnType<typeof readinessActivities>;
  let haproxy: Haproxy;
  const systemd = new SystemdStandin();
  const ports: Record<string, number> = {};
  const previousToken = process.env.READINESS_TOKEN;

  beforeAll(async () => {
    for (const [name, host, days] of [
      ['valid', 'shop.test', 90],
      ['expiring', 'shop.test', 3],
      ['wronghost', 'other.test', 90],
    ] as const) {
      const s = await httpsServer(ca.leaf(name, host, days));
      servers.push(s);
      ports[name] = s.port;
    }
    dns = await new Dnsmasq(processes, { 'shop.test': '127.0.0.10', 'api.shop.test': '127.0.0.99' }).start();
    app = await new ReadinessApp(APP_TOKEN).start();
    webhook = await new HttpReceiver().start();
    smtp = await new SmtpReceiver().start();
    const downPort = await freePort();
    prometheus = await new Prometheus(
      processes,
      [`127.0.0.1:${app.port}`, `127.0.0.1:${downPort}`],
      'groups:\n  - name: shop\n    rules:\n      - alert: ShopDown\n        expr: up == 0\n',
    ).start();
    ports.closed = await freePort();
    const blue = await startBackend(processes, 'blue');
    haproxy = await new Haproxy(processes, [
      { name: 'blue', port: blue.port, weight: 100 },
      { name: 'green', port: blue.port, weight: 0 },
    ]).start();
    systemd.defineHttpService('shop-web', await freePort());
    systemd.defineHttpService('shop-worker', await freePort());
    systemd.systemctl('start', 'shop-web');
    process.env.READINESS_TOKEN = `Bearer ${APP_TOKEN}`;
    const tls = (id: string, port: number, extra: object = {}) => ({
      id,
      check: 'tls',
      host: '127.0.0.1',
      port,
      servername: 'shop.test',
      caFile: ca.caFile,
      ...extra,
    });
    const config = parseConfigText(
      JSON.stringify({
        http: {
          status: { url: `${app.url}/private`, headers: { authorization: `Bearer ${APP_TOKEN}` } },
          missing: { url: `${app.url}/nothing` },
        },
        notifiers: {
          hook: { type: 'webhook', url: `${webhook.url}/hook` },
          mail: { type: 'email', host: '127.0.0.1', port: smtp.port, from: 'opsflow@test', to: ['ops@test'] },
        },
        metricSources: { prom: { type: 'prometheus', url: prometheus.url } },
        loadBalancers: { edge: { type: 'haproxy', runtimeApi: { socket: haproxy.socket }, backend: 'app' } },
        systemd: { systemctl: systemd.systemctlPath },
        readiness: {
          checklists: {
            shop: {
              items: [
                tls('tls-valid', ports.valid),
                tls('tls-expiring', ports.expiring),
                tls('tls-wronghost', ports.wronghost),
                tls('tls-untrusted', ports.valid, { caFile: undefined }),
                tls('tls-nothing', ports.closed),
                { id: 'dns-good', check: 'dns', name: 'shop.test', expect: ['127.0.0.10'], resolvers: [dns.server] },
                {
                  id: 'dns-wrong',
                  check: 'dns',
                  name: 'api.shop.test',
                  expect: ['127.0.0.10'],
                  resolvers: [dns.server],
                },
                { id: 'ports', check: 'tcp', host: '127.0.0.1', open: [app.port], closed: [ports.closed] },
                { id: 'ports-leaky', check: 'tcp', host: '127.0.0.1', open: [], closed: [app.port] },
                { id: 'api', check: 'http', target: 'status' },
                { id: 'api-missing', check: 'http', target: 'missing' },
                {
                  id: 'files',
                  check: 'roundTrip',
                  uploadUrl: `${app.url}/files/{key}`,
                  downloadUrl: `${app.url}/files/{key}`,
                },
                { id: 'login', check: 'auth', url: `${app.url}/private`, good: { env: 'READINESS_TOKEN' } },
                {
                  id: 'prom-up',
                  check: 'prometheus',
                  source: 'prom',
                  jobs: ['app'],
                  rules: ['ShopDown', 'NoSuchRule'],
                },
                { id: 'hook', check: 'notifier', notifier: 'hook' },
                { id: 'mail', check: 'notifier', notifier: 'mail' },
                { id: 'lb', check: 'loadBalancer', lb: 'edge', servers: ['blue', 'green'] },
                { id: 'lb-missing', check: 'loadBalancer', lb: 'edge', servers: ['blue', 'purple'] },
                { id: 'units', check: 'systemd', units: ['shop-web', 'shop-worker'] },
                { id: 'training', check: 'signOff', description: 'on-call trained' },
              ],
            },
          },
        },
      }),
      'readiness-test.json',
    );
    acts = readinessActivities(config);
  }, 120_000);

  afterAll(async () => {
    process.env.READINESS_TOKEN = previousToken;
    systemd.stopAll();
    await Promise.all([
      haproxy?.stop(),
      ...servers.map((s) => s.stop()),
      app?.stop(),
      webhook?.stop(),
      smtp?.stop(),
      dns?.stop(),
      prometheus?.stop(),
    ]);
    await processes.stopAll();
    ca.cleanUp();
  }, 60_000);

  const run = (fn: (r: { checklist: string; item: string; runKey: string }) => Promise<CheckResult>, item: string) =>
    runActivity(fn, { checklist: 'shop', item, runKey: 'test/run/1' });
  const fact = (r: CheckResult, what: string) => r.evidence.find((e) => e.what === what)!;

  test('TLS: a valid certificate passes on all four facts; 3 days left fails the 14-day minimum; a wrong host name and an unknown CA fail their fact; no server is an error', async () => {
    const valid = await run(acts.readinessTls, 'tls-valid');
    expect(valid.outcome).toBe('pass');
    expect(valid.evidence.map((e) => [e.what, e.ok])).toEqual([
      ['certificate chain', true],
      ['validity period', true],
      ['host name', true],
      ['days to expiry', true],
    ]);
    expect(fact(valid, 'days to expiry').value).toMatch(/^(89|90) days/);

    const expiring = await run(acts.readinessTls, 'tls-expiring');
    expect(expiring.outcome).toBe('fail');
    expect(fact(expiring, 'days to expiry')).toMatchObject({
      ok: false,
      threshold: '> 14 days',
      target: `127.0.0.1:${ports.expiring}`,
    });
    expect(fact(expiring, 'days to expiry').value).toMatch(/^[23] days/);
    expect(fact(expiring, 'host name').ok).toBe(true);

    const wrong = await run(acts.readinessTls, 'tls-wronghost');
    expect(wrong.outcome).toBe('fail');
    expect(fact(wrong, 'host name')).toMatchObject({ ok: false, threshold: 'shop.test' });
    expect(fact(wrong, 'host name').value).toContain('other.test');

    const untrusted = await run(acts.readinessTls, 'tls-untrusted');
    expect(untrusted.outcome).toBe('fail');
    expect(fact(untrusted, 'certificate chain').ok).toBe(false);
    expect(fact(untrusted, 'certificate chain').value).toMatch(/UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);

    const nothing = await run(acts.readinessTls, 'tls-nothing');
    expect(nothing.outcome).toBe('error');
    expect(nothing.message).toMatch(/ECONNREFUSED/);
  }, 30_000);

  test('DNS through the configured resolver (dnsmasq): the expected address passes, a wrong one fails showing both', async () => {
    const good = await run(acts.readinessDns, 'dns-good');
    expect(good.outcome).toBe('pass');
    expect(good.evidence[0]).toMatchObject({
      value: '127.0.0.10',
      threshold: '127.0.0.10',
      target: `resolver ${dns.server}`,
    });
    const wrong = await run(acts.readinessDns, 'dns-wrong');
    expect(wrong.outcome).toBe('fail');
    expect(wrong.evidence[0].value).toBe('127.0.0.99; missing 127.0.0.10; unexpected 127.0.0.99');
  }, 30_000);

  test('TCP: an open port that must be open and a closed one that must be closed pass; a listening port that must be closed fails', async () => {
    expect((await run(acts.readinessTcp, 'ports')).outcome).toBe('pass');
    const leaky = await run(acts.readinessTcp, 'ports-leaky');
    expect(leaky.outcome).toBe('fail');
    expect(leaky.evidence[0]).toMatchObject({ what: `port ${app.port}`, threshold: 'closed', ok: false });
    expect(leaky.evidence[0].value).toMatch(/^open/);
  }, 30_000);

  test('API endpoint, upload round trip and authentication against the app; a corrupting store and an open door fail with their evidence', async () => {
    expect((await run(acts.readinessHttp, 'api')).outcome).toBe('pass');
    const missing = await run(acts.readinessHttp, 'api-missing');
    expect(missing.outcome).toBe('fail');
    expect(missing.evidence[0].value).toMatch(/^HTTP 404/);

    const before = app.files.size;
    expect((await run(acts.readinessRoundTrip, 'files')).outcome).toBe('pass');
    expect(app.files.size).toBe(before + 1);
    app.corrupt = true;
    const corrupted = await run(acts.readinessRoundTrip, 'files');
    app.corrupt = false;
    expect(corrupted.outcome).toBe('fail');
    expect(fact(corrupted, 'download').ok).toBe(false);

    const login = await run(acts.readinessAuth, 'login');
    expect(login.outcome).toBe('pass');
    expect(login.evidence.map((e) => e.value)).toEqual(['HTTP 401', 'HTTP 200']);
    app.openToAll = true;
    const open = await run(acts.readinessAuth, 'login');
    app.openToAll = false;
    expect(open.outcome).toBe('fail');
    expect(fact(open, 'bad credential')).toMatchObject({ value: 'HTTP 200', ok: false });
  }, 30_000);

  test('Prometheus: a down target of the job and a rule that is not loaded fail; the loaded rule passes', async () => {
    let r: CheckResult | undefined;
    // Targets appear after discovery and stay `unknown` until their first scrape: wait for both scraped
    // (bounded by time: a loaded machine scrapes late).
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      r = await run(acts.readinessPrometheus, 'prom-up');
      const seen = fact(r, 'targets of job app').value;
      if (/^\d\/2 up/.test(seen) && !seen.includes('unknown')) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    expect(r!.outcome).toBe('fail');
    expect(fact(r!, 'targets of job app').value).toMatch(/^1\/2 up; down: 127\.0\.0\.1:\d+ \(down/);
    expect(fact(r!, 'alert rule ShopDown')).toMatchObject({ ok: true });
    expect(fact(r!, 'alert rule NoSuchRule')).toMatchObject({ ok: false, value: 'not loaded' });
  }, 120_000);

  test('every alert channel gets a test message: the webhook receiver and the SMTP server each receive one', async () => {
    expect((await run(acts.readinessNotifier, 'hook')).outcome).toBe('pass');
    expect(webhook.requests).toHaveLength(1);
    expect(webhook.requests[0].body).toContain('readiness test');
    expect((await run(acts.readinessNotifier, 'mail')).outcome).toBe('pass');
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0].subject).toContain('readiness test of mail');
  }, 30_000);

  test('the load balancer knows the backends (HAProxy Runtime API): a drained one and an unknown one fail', async () => {
    expect((await run(acts.readinessLoadBalancer, 'lb')).outcome).toBe('pass');
    const missing = await run(acts.readinessLoadBalancer, 'lb-missing');
    expect(missing.outcome).toBe('fail');
    expect(fact(missing, 'server purple')).toMatchObject({ ok: false, target: 'load balancer edge' });
    expect(fact(missing, 'server purple').value).toMatch(/^unknown: load balancer "edge" has no/);
    await runtimeApiCommand({ socket: haproxy.socket }, 'set server app/green state drain', 5000);
    const drained = await run(acts.readinessLoadBalancer, 'lb');
    expect(drained.outcome).toBe('fail');
    expect(fact(drained, 'server green')).toMatchObject({ value: 'known, drain', ok: false });
  }, 30_000);

  test('units active through the systemd adapter: a stopped unit fails with its state', async () => {
    const r = await run(acts.readinessSystemd, 'units');
    expect(r.outcome).toBe('fail');
    expect(fact(r, 'unit shop-web')).toMatchObject({ value: 'active', ok: true });
    expect(fact(r, 'unit shop-worker')).toMatchObject({ value: 'inactive', ok: false });
    systemd.systemctl('start', 'shop-worker');
    expect((await run(acts.readinessSystemd, 'units')).outcome).toBe('pass');
  }, 30_000);

  test('a sign-off item has no check, and an item of another kind is refused naming the item', async () => {
    await expect(run(acts.readinessTls, 'training')).rejects.toThrow('item: "training" is a signOff check, not tls');
    await expect(run(acts.readinessTls, 'nope')).rejects.toThrow('item: "nope" is not in readiness checklist shop');
  });
});

import { createServer, type Server } from 'node:http';
import { healthActivities } from '../../src/activities/health';
import { parseConfigText } from '../../src/config/load';
import { freePort, waitForPort } from '../helpers/ports';
import { pgConnection, redisConnection, requirePostgres, requireRedis } from '../helpers/services';
import { SystemdStandin } from '../helpers/systemd-standin';
import { runActivity } from '../helpers/activity';
import { diskPercentFromDf, memoryPercentFromProc } from '../helpers/host-figures';

/** Each health check against the real thing: PostgreSQL, Redis, HTTP servers, TCP, systemd stand-in, this host. */
describe('health check activities against real systems', () => {
  const systemd = new SystemdStandin().install();
  let slow: Server;
  let ok: Server;
  let okPort: number;
  let slowPort: number;
  let webPort: number;
  let closedPort: number;
  let acts: ReturnType<typeof healthActivities>;

  beforeAll(async () => {
    await requirePostgres();
    await requireRedis();
    [okPort, slowPort, webPort, closedPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    ok = createServer((_req, res) => res.writeHead(200).end('ok')).listen(okPort, '127.0.0.1');
    slow = createServer((_req, res) => setTimeout(() => res.writeHead(200).end('late'), 2_000)).listen(
      slowPort,
      '127.0.0.1',
    );
    systemd.defineHttpService('web-app', webPort);
    systemd.systemctl('start', 'web-app');
    await waitForPort(webPort);
    const config = parseConfigText(
      JSON.stringify({
        http: {
          ok: { url: `http://127.0.0.1:${okPort}/health` },
          slow: { url: `http://127.0.0.1:${slowPort}/health`, timeoutMs: 300 },
          refused: { url: `http://127.0.0.1:${closedPort}/health`, timeoutMs: 1000 },
        },
        postgres: {
          primary: { ...pgConnection },
          wrongport: { ...pgConnection, port: closedPort, connectTimeoutMs: 1000 },
        },
        redis: { cache: { ...redisConnection }, gone: { host: '127.0.0.1', port: closedPort, connectTimeoutMs: 1000 } },
        hosts: {
          pg: { host: '127.0.0.1', port: pgConnection.port },
          nothing: { host: '127.0.0.1', port: closedPort, timeoutMs: 1000 },
        },
        systemd: { systemctl: systemd.systemctlPath, units: ['web-app', 'missing-unit'] },
      }),
      'test.json',
    );
    acts = healthActivities(config);
  });

  afterAll(async () => {
    systemd.stopAll();
    await Promise.all([ok, slow].map((s) => new Promise((r) => (s ? s.close(r) : r(undefined)))));
  });

  test('plan: omitted lists mean everything configured; unknown names are refused by name', async () => {
    const plan = await runActivity(acts.planHealthCheck, {});
    expect(plan.http.sort()).toEqual(['ok', 'refused', 'slow']);
    expect(plan.systemd).toEqual(['web-app', 'missing-unit']);
    expect(plan.resources).toBe(true);
    await expect(runActivity(acts.planHealthCheck, { targets: { postgres: ['nope'] } })).rejects.toThrow(
      /unknown postgres target "nope"/,
    );
    await expect(runActivity(acts.planHealthCheck, { notify: ['pager'] })).rejects.toThrow(
      /unknown notifiers target "pager"/,
    );
  });

  test('systemd: a running unit is healthy; a stopped one is down with its state', async () => {
    expect(await runActivity(acts.checkSystemdUnit, 'web-app')).toMatchObject({
      status: 'healthy',
      message: 'is-active: active',
    });
    const missing = await runActivity(acts.checkSystemdUnit, 'missing-unit');
    expect(missing.status).toBe('down');
    expect(missing.message).toContain('inactive');
    systemd.systemctl('stop', 'web-app');
    expect((await runActivity(acts.checkSystemdUnit, 'web-app')).status).toBe('down');
    systemd.systemctl('start', 'web-app');
    await waitForPort(webPort);
    expect(systemd.calls()).toContain('is-active -- web-app');
  });

  test('systemd: a unit name that could be an option or a path is refused, never executed', async () => {
    const before = systemd.calls().length;
    await expect(runActivity(acts.checkSystemdUnit, '--all')).rejects.toThrow(/invalid systemd unit name/);
    await expect(runActivity(acts.checkSystemdUnit, '../../etc/passwd')).rejects.toThrow(/invalid systemd unit name/);
    expect(systemd.calls().length).toBe(before);
  });

  test('http: 200 in time is healthy with latency; too slow and refused are down', async () => {
    const good = await runActivity(acts.checkHttpEndpoint, 'ok');
    expect(good).toMatchObject({ status: 'healthy', unit: 'ms' });
    expect(good.value).toBeGreaterThanOrEqual(0);
    const late = await runActivity(acts.checkHttpEndpoint, 'slow');
    expect(late.status).toBe('down');
    const refused = await runActivity(acts.checkHttpEndpoint, 'refused');
    expect(refused.status).toBe('down');
    expect(refused.message).toMatch(/ECONNREFUSED|connect/i);
  });

  test('postgres: SELECT 1 on the real server; a wrong port is down', async () => {
    const up = await runActivity(acts.checkPostgres, 'primary');
    expect(up.status).toBe('healthy');
    expect(up.message).toContain('(primary)');
    expect((await runActivity(acts.checkPostgres, 'wrongport')).status).toBe('down');
  });

  test('redis: PING and a client count from the real server; a closed port is down', async () => {
    const up = await runActivity(acts.checkRedis, 'cache');
    expect(up.status).toBe('healthy');
    expect(up.value).toBeGreaterThanOrEqual(1);
    expect((await runActivity(acts.checkRedis, 'gone')).status).toBe('down');
  });

  test('tcp: reachability of named hosts', async () => {
    expect((await runActivity(acts.checkTcpHost, 'pg')).status).toBe('healthy');
    expect((await runActivity(acts.checkTcpHost, 'nothing')).status).toBe('down');
  });

  test('host resources: memory and disk as /proc/meminfo and df give them, rated against the thresholds', async () => {
    // Thresholds around what the OS reports, so each rating says the value was read, not made up.
    const disk = diskPercentFromDf('/');
    const memBefore = memoryPercentFromProc();
    const results = await runActivity(acts.checkHostResources, {
      cpuPercent: { warning: 80, critical: 85 },
      memoryPercent: { warning: 0, critical: 100 },
      diskPercent: { warning: Math.max(0, Math.floor(disk) - 3), critical: Math.min(100, Math.ceil(disk) + 3) },
    });
    const memAfter = memoryPercentFromProc();
    expect(results.filter((r) => r.kind === 'cpu').map((r) => r.target)).toEqual(['host']);
    const mem = results.find((r) => r.kind === 'memory')!;
    expect(mem.value).toBeGreaterThanOrEqual(Math.min(memBefore, memAfter) - 2);
    expect(mem.value).toBeLessThanOrEqual(Math.max(memBefore, memAfter) + 2);
    expect(mem.status).toBe('warning'); // any use is above a 0 % warning line
    const root = results.find((r) => r.kind === 'disk' && r.target === '/')!;
    expect(Math.abs(root.value! - disk)).toBeLessThanOrEqual(1);
    expect(root).toMatchObject({ status: 'warning', unit: '%' });
    // Every real filesystem df lists is there too (pseudo filesystems such as tmpfs are not).
    for (const r of results.filter((x) => x.kind === 'disk'))
      expect(Math.abs(r.value! - diskPercentFromDf(r.target))).toBeLessThanOrEqual(1);
  });
});

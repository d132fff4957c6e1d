import { createServer, type Server } from 'node:http';
import { remediationActivities } from '../../src/activities/remediation';
import { parseConfigText } from '../../src/config/load';
import { pgConnection, requirePostgres } from '../helpers/services';
import { freePort } from '../helpers/ports';

/** The database and health steps of the runbook against the machine's PostgreSQL and a local HTTP service. */
describe('remediation activities: primary check, failover, health verification', () => {
  let web: Server;
  let status = 503;
  let acts: ReturnType<typeof remediationActivities>;

  beforeAll(async () => {
    await requirePostgres();
    const [webPort, deadPort] = await Promise.all([freePort(), freePort()]);
    web = createServer((_q, r) => r.writeHead(status).end('x')).listen(webPort, '127.0.0.1');
    acts = remediationActivities(
      parseConfigText(
        JSON.stringify({
          http: { web: { url: `http://127.0.0.1:${webPort}/health` } },
          postgres: {
            main: pgConnection,
            dead: { host: '127.0.0.1', port: deadPort, database: 'test', connectTimeoutMs: 2000 },
          },
          incident: {
            store: { postgres: 'main' },
            contacts: { cto: [] },
            severityRules: [{ severity: 'P0', type: 'payment_failed' }],
          },
        }),
        'test.json',
      ),
    );
  });
  afterAll(() => new Promise<void>((r) => web.close(() => r())));

  test('SELECT 1 on a running primary; a dead one is reported down, not thrown', async () => {
    await expect(acts.checkPrimaryDatabase('main')).resolves.toMatchObject({ ok: true, inRecovery: false });
    const dead = await acts.checkPrimaryDatabase('dead');
    expect(dead.ok).toBe(false);
    expect(dead.error).toMatch(/ECONNREFUSED|connect/);
  });

  test('pg_promote() is idempotent: a server that is not in recovery is already the primary and is left alone', async () => {
    await expect(acts.failoverDatabase({ replica: 'main' })).resolves.toEqual({
      method: 'pg_promote',
      promoted: false,
      message: 'main is already a primary (not in recovery)',
    });
  });

  test('a failover command: exit 0 is success, anything else is retried; an unknown target is not', async () => {
    await expect(acts.failoverDatabase({ command: ['true'] })).resolves.toMatchObject({
      method: 'command',
      promoted: true,
    });
    const failed = await acts.failoverDatabase({ command: ['false'] }).catch((e) => e);
    expect(failed.nonRetryable).toBe(false);
    expect(failed.message).toMatch(/failover command false exited 1/);
    const unknown = await acts.failoverDatabase({ replica: 'nope' }).catch((e) => e);
    expect(unknown.nonRetryable).toBe(true);
    expect(unknown.message).toMatch(/unknown postgres target "nope"/);
  });

  test('health verification: not healthy is a retryable failure naming what answered; healthy returns the status', async () => {
    status = 503;
    const err = await acts.verifyHealthEndpoint('web').catch((e) => e);
    expect(err.nonRetryable).toBe(false);
    expect(err.message).toMatch(/answered 503, expected 200/);
    status = 200;
    await expect(acts.verifyHealthEndpoint('web')).resolves.toMatchObject({ status: 200 });
  });

  test('the plan carries rules, contacts and defaults from config, no secrets', async () => {
    const plan = await acts.planIncident();
    expect(plan.severityRules).toEqual([{ severity: 'P0', type: 'payment_failed' }]);
    expect(plan.recipients.P0).toEqual(['cto', 'ops-lead', 'on-call', 'business-owner']);
    expect(plan.recipients.P3).toEqual([]);
    expect(plan.rota.shifts.map((s) => s.name)).toEqual(['day', 'night']);
    expect(JSON.stringify(plan)).not.toMatch(/password|routingKey|webhookUrl/);
  });
});

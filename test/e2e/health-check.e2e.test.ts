import { createServer, type Server } from 'node:http';
import { Stack, writeConfig } from '../helpers/stack';
import { HttpReceiver } from '../helpers/http-receiver';
import { freePort, waitFor } from '../helpers/ports';
import { pgConnection, redisConnection, requirePostgres, requireRedis } from '../helpers/services';
import { recordHistory } from '../helpers/histories';

/**
 * The foundation end to end: the real Temporal dev server, an opsflow worker, the `opsflow` CLI,
 * real PostgreSQL, Redis and HTTP targets, one of them failing, and a webhook receiver that
 * honours Idempotency-Key but answers the first delivery with HTTP 500 after recording it.
 */
describe('healthCheckWorkflow end to end', () => {
  let stack: Stack;
  let web: Server;
  let receiver: HttpReceiver;
  let configPath: string;
  let config: Record<string, unknown>;

  beforeAll(async () => {
    await requirePostgres();
    await requireRedis();
    const [webPort, deadPort] = await Promise.all([freePort(), freePort()]);
    web = createServer((_q, r) => r.writeHead(200).end('ok')).listen(webPort, '127.0.0.1');
    receiver = await new HttpReceiver({ failFirst: 1, honourKey: true }).start();
    config = {
      http: {
        web: { url: `http://127.0.0.1:${webPort}/health` },
        checkout: { url: `http://127.0.0.1:${deadPort}/health`, timeoutMs: 2000 },
      },
      postgres: { primary: pgConnection },
      redis: { cache: redisConnection },
      hosts: { pg: { host: '127.0.0.1', port: pgConnection.port } },
      notifiers: { ops: { type: 'webhook', url: `${receiver.url}/hook` } },
      healthCheckNotify: ['ops'],
      schedules: {
        'hc-e2e-schedule': { workflow: 'healthCheckWorkflow', every: '1h', input: { targets: { resources: false, http: ['web'], postgres: [], redis: [], hosts: [] } } },
      },
    };
    configPath = writeConfig(config);
    stack = await Stack.start();
    await stack.startWorker(config);
  });

  afterAll(async () => {
    await stack?.stop();
    await receiver?.stop();
    await new Promise((r) => (web ? web.close(r) : r(undefined)));
  });

  test('a failing target gives one notification at a key-honouring receiver, despite a 500 on the first delivery', async () => {
    const input = JSON.stringify({ targets: { resources: false } });
    const started = await stack.cli(['start', 'health-check', '--input', input, '--id', 'hc-e2e-1', '--wait']);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const result = JSON.parse(started.stdout.slice(started.stdout.indexOf('{')));
    expect(result.overall).toBe('down');
    expect(result.summary).toBe('4/5 healthy');
    expect(result.failing.map((c: { target: string }) => c.target)).toEqual(['checkout']);
    expect(result.notified).toEqual(['ops']);

    // recorded once, delivered on the second attempt with the same key
    expect(receiver.attempts).toHaveLength(2);
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.attempts[0].headers['idempotency-key']).toBe(receiver.attempts[1].headers['idempotency-key']);
    expect(receiver.requests[0].json.text).toContain('DOWN http checkout');

    recordHistory(stack.temporalAddress(), 'hc-e2e-1', 'health-check-failing-target');

    const status = await stack.cli(['status', 'hc-e2e-1']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ phase: 'done', notified: ['ops'] });

    // the overall health is a search attribute: unhealthy runs can be found
    const found = await waitFor('visibility of OpsflowHealth', async () => {
      const ids: string[] = [];
      for await (const w of stack.client.workflow.list({ query: `OpsflowHealth = 'down'` })) ids.push(w.workflowId);
      return ids.includes('hc-e2e-1') ? ids : undefined;
    });
    expect(found).toContain('hc-e2e-1');
    const listed = await stack.cli(['list', '--query', `OpsflowHealth = 'down'`]);
    expect(listed.stdout).toMatch(/hc-e2e-1\thealthCheckWorkflow\tCOMPLETED/);
  });

  test('the schedule is created idempotently, triggered through the CLI, and its run completes', async () => {
    const env = { OPSFLOW_CONFIG: configPath };
    const first = await stack.cli(['schedules', 'apply'], env);
    expect(first.stdout).toContain('created [hc-e2e-schedule]');
    const again = await stack.cli(['schedules', 'apply'], env);
    expect(again.stdout).toContain('updated [hc-e2e-schedule]');

    const desc = await stack.client.schedule.getHandle('hc-e2e-schedule').describe();
    expect(desc.policies.overlap).toBe('SKIP');
    expect(desc.spec.intervals?.[0].every).toBe(3_600_000);

    const listed = await stack.cli(['schedules', 'list'], env);
    expect(listed.stdout).toMatch(/hc-e2e-schedule\thealthCheckWorkflow\tactive/);

    expect((await stack.cli(['schedules', 'trigger', 'hc-e2e-schedule'], env)).code).toBe(0);
    const run = await waitFor(
      'a completed run started by the schedule',
      async () => {
        for await (const w of stack.client.workflow.list({ query: `WorkflowType = 'healthCheckWorkflow' AND ExecutionStatus = 'Completed'` })) {
          if (w.workflowId.startsWith('hc-e2e-schedule')) return w;
        }
        return undefined;
      },
      30_000,
      250,
    );
    const result = await stack.client.workflow.getHandle(run.workflowId).result();
    expect(result.summary).toBe('1/1 healthy');
    recordHistory(stack.temporalAddress(), run.workflowId, 'health-check-scheduled-healthy');

    expect((await stack.cli(['schedules', 'pause', 'hc-e2e-schedule'], env)).stdout).toContain('paused');
    expect((await stack.client.schedule.getHandle('hc-e2e-schedule').describe()).state.paused).toBe(true);
    expect((await stack.cli(['schedules', 'delete', 'hc-e2e-schedule'], env)).code).toBe(0);
  });

  test('the worker process serves SDK metrics and stops cleanly on SIGTERM', async () => {
    const metricsPort = await freePort();
    const { child, output } = stack.spawnWorkerProcess(configPath, { OPSFLOW_METRICS_PORT: String(metricsPort), OPSFLOW_LOG_LEVEL: 'INFO' });
    await waitFor('worker to poll', () => (output().includes('opsflow worker: task queue opsflow') ? true : undefined), 60_000);
    // a run served by this process (the in-process worker shares the queue; either may take it)
    await stack.client.workflow.execute('healthCheckWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'hc-e2e-worker-process',
      args: [{ targets: { resources: false, http: ['web'], postgres: [], redis: [], hosts: [] } }],
    });
    const metrics = await waitFor('metrics', async () => {
      const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text()).catch(() => '');
      return text.includes('temporal_') ? text : undefined;
    });
    expect(metrics).toMatch(/temporal_\w+/);
    process.kill(-child.pid!, 'SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(output()).toContain('opsflow worker: stopped');
  });

  test('bad input and bad config: a clear error naming the field, exit 2, nothing started', async () => {
    const count = async () => {
      let n = 0;
      for await (const _ of stack.client.workflow.list()) n++;
      return n;
    };
    const before = await count();
    const bad = await stack.cli(['start', 'health-check', '--input', '{"targets":{"systemd":["nginx;reboot"]},"oops":1}']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('targets.systemd.0');
    expect(bad.stderr).toMatch(/oops/);

    const badConfig = writeConfig({ ...config, http: { web: { url: 'not a url' } } });
    const apply = await stack.cli(['schedules', 'apply'], { OPSFLOW_CONFIG: badConfig });
    expect(apply.code).toBe(2);
    expect(apply.stderr).toContain('http.web.url');

    const { child, output } = stack.spawnWorkerProcess(badConfig);
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(output()).toContain('http.web.url');

    expect(await count()).toBe(before);
  });
});

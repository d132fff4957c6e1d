import { createServer, type Server } from 'node:http';
import { Stack, writeConfig } from '../helpers/stack';
import { HttpReceiver } from '../helpers/http-receiver';
import { freePort, waitFor } from '../helpers/ports';
import { pgConnection, redisConnection, requirePostgres, requireRedis } from '../helpers/services';
import { recordHistory } from '../helpers/histories';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { OpsflowHealth } from '../../src/domain/search-attributes';

/** The sum of a Prometheus metric's samples whose labels include `labels` (0 when there are none). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** Set by the server on every run a schedule starts. */
const TemporalScheduledById = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);

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
        'hc-e2e-schedule': {
          workflow: 'healthCheckWorkflow',
          every: '1h',
          input: { targets: { resources: false, http: ['web'], postgres: [], redis: [], hosts: [] } },
        },
      },
    };
    configPath = writeConfig(config);
    stack = await Stack.start();
    await stack.startWorker(config);
  });

  /** The visibility record of a run once it is closed (visibility lags the run by a moment). */
  const closedRecord = (workflowId: string) =>
    waitFor(`the closed visibility record of ${workflowId}`, async () => {
      for await (const w of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
        if (w.status.name !== 'RUNNING') return w;
      return undefined;
    });
  const idsWhere = async (query: string) => {
    const ids: string[] = [];
    for await (const w of stack.client.workflow.list({ query })) ids.push(w.workflowId);
    return ids;
  };
  const summary = (w: WorkflowExecutionInfo) => ({
    type: w.type,
    status: w.status.name,
    health: w.typedSearchAttributes.get(OpsflowHealth),
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

    const status = await stack.cli(['status', 'hc-e2e-1', '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ phase: 'done', notified: ['ops'] });

    // a run whose only target is up, next to it
    const healthy = await stack.cli([
      'start',
      'health-check',
      '--input',
      JSON.stringify({ targets: { resources: false, http: ['web'], postgres: [], redis: [], hosts: [] } }),
      '--id',
      'hc-e2e-up',
      '--wait',
    ]);
    expect(healthy.code).toBe(0);

    // the overall health is a search attribute: each run carries its own, and a query by it finds
    // the down run and not the healthy one (and the other way round)
    expect(summary(await closedRecord('hc-e2e-1'))).toEqual({
      type: 'healthCheckWorkflow',
      status: 'COMPLETED',
      health: 'down',
    });
    expect(summary(await closedRecord('hc-e2e-up'))).toEqual({
      type: 'healthCheckWorkflow',
      status: 'COMPLETED',
      health: 'healthy',
    });
    const down = await idsWhere(`OpsflowHealth = 'down'`);
    expect(down).toContain('hc-e2e-1');
    expect(down).not.toContain('hc-e2e-up');
    const up = await idsWhere(`OpsflowHealth = 'healthy'`);
    expect(up).toContain('hc-e2e-up');
    expect(up).not.toContain('hc-e2e-1');
    const listed = await stack.cli(['list', '--query', `OpsflowHealth = 'down'`]);
    expect(listed.stdout).toMatch(/^hc-e2e-1\s+health-check\s+-\s+completed\s/m);
    expect(listed.stdout).not.toContain('hc-e2e-up');
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
    // the run the trigger started, as the schedule itself reports it
    const workflowId = await waitFor(
      'the triggered action in the schedule',
      async () => {
        const action = (await stack.client.schedule.getHandle('hc-e2e-schedule').describe()).info.recentActions.at(
          -1,
        )?.action;
        return action?.type === 'startWorkflow' ? action.workflow.workflowId : undefined;
      },
      30_000,
      250,
    );
    expect(workflowId).toMatch(/^hc-e2e-schedule-/);
    const result = await stack.client.workflow.getHandle(workflowId).result();
    expect(result.summary).toBe('1/1 healthy');
    // the list has it as the schedule's healthy health check, and as the only run of that schedule
    const run = await closedRecord(workflowId);
    expect(summary(run)).toEqual({ type: 'healthCheckWorkflow', status: 'COMPLETED', health: 'healthy' });
    expect(run.typedSearchAttributes.get(TemporalScheduledById)).toBe('hc-e2e-schedule');
    const byScheduleId = await idsWhere(`TemporalScheduledById = 'hc-e2e-schedule'`);
    const startedBySchedule = (
      await stack.client.schedule.getHandle('hc-e2e-schedule').describe()
    ).info.recentActions.map((a) => a.action.workflow.workflowId);
    expect(byScheduleId).toContain(workflowId);
    expect(byScheduleId.filter((id) => !startedBySchedule.includes(id))).toEqual([]);
    recordHistory(stack.temporalAddress(), run.workflowId, 'health-check-scheduled-healthy');

    expect((await stack.cli(['schedules', 'pause', 'hc-e2e-schedule'], env)).stdout).toContain('paused');
    expect((await stack.client.schedule.getHandle('hc-e2e-schedule').describe()).state.paused).toBe(true);
    expect((await stack.cli(['schedules', 'delete', 'hc-e2e-schedule'], env)).code).toBe(0);
  });

  test('the worker process serves SDK metrics that count its runs, and stops cleanly on SIGTERM', async () => {
    const metricsPort = await freePort();
    // a task queue of its own, so that this process (not the in-process worker) serves the run
    const taskQueue = 'hc-e2e-metrics';
    const { child, output } = stack.spawnWorkerProcess(configPath, {
      OPSFLOW_METRICS_PORT: String(metricsPort),
      OPSFLOW_LOG_LEVEL: 'INFO',
      OPSFLOW_TASK_QUEUE: taskQueue,
    });
    await waitFor(
      'worker to poll',
      () => (output().includes(`opsflow worker: task queue ${taskQueue}`) ? true : undefined),
      60_000,
    );
    const scrape = () => fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
    const completed = (text: string) =>
      sample(text, 'temporal_workflow_completed', { task_queue: taskQueue, workflow_type: 'healthCheckWorkflow' });
    const activities = (text: string) =>
      sample(text, 'temporal_activity_execution_latency_count', {
        task_queue: taskQueue,
        activity_type: 'checkHttpEndpoint',
      });
    const before = await scrape();
    expect([completed(before), activities(before)]).toEqual([0, 0]);

    await stack.client.workflow.execute('healthCheckWorkflow', {
      taskQueue,
      workflowId: 'hc-e2e-worker-process',
      args: [{ targets: { resources: false, http: ['web'], postgres: [], redis: [], hosts: [] } }],
    });
    // the SDK records the completion as it reports it, a moment before or after the client hears
    const after = await waitFor('the run in the metrics', async () => {
      const text = await scrape();
      return completed(text) > 0 ? text : undefined;
    });
    expect(completed(after)).toBe(1);
    expect(activities(after)).toBe(1);

    process.kill(-child.pid!, 'SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
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
    const bad = await stack.cli([
      'start',
      'health-check',
      '--input',
      '{"targets":{"systemd":["nginx;reboot"]},"oops":1}',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('targets.systemd.0');
    expect(bad.stderr).toMatch(/oops/);

    const badConfig = writeConfig({ ...config, http: { web: { url: 'not a url' } } });
    const apply = await stack.cli(['schedules', 'apply'], { OPSFLOW_CONFIG: badConfig });
    expect(apply.code).toBe(2);
    expect(apply.stderr).toContain('http.web.url');

    const { child, output } = stack.spawnWorkerProcess(badConfig);
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(code).toBe(1);
    expect(output()).toContain('http.web.url');

    expect(await count()).toBe(before);
  });
});

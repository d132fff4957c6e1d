import { Worker } from '@temporalio/worker';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { healthCheckWorkflow } from '../../src/workflows';
import { rateLevel, type CheckResult, type ResourceThresholds } from '../../src/domain/health/report';
import { ApplicationFailure } from '@temporalio/common';
import type { Notification } from '../../src/domain/notification';
import { statusQuery } from '../../src/workflows/health/messages';

/**
 * The workflow's orchestration on the time-skipping server with activities that answer as a
 * given fleet would: which checks run, how the report is made, who is alerted with which key.
 */
describe('healthCheckWorkflow (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await timeSkippingEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  async function run(
    fleet: Record<string, CheckResult['status']>,
    input: unknown,
    sent: Notification[],
    failSendsFirst = 0,
    sendTakesMs = 0,
  ) {
    let sendAttempts = 0;
    const checked: string[] = [];
    const answer = (kind: CheckResult['kind'], target: string): CheckResult => {
      checked.push(`${kind}:${target}`);
      return { kind, target, status: fleet[target] ?? 'healthy', message: 'ok' };
    };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'hc-test',
      workflowBundle: await workflowBundle(),
      activities: {
        planHealthCheck: async () => ({
          systemd: ['nginx'],
          http: ['web'],
          postgres: ['primary', 'replica'],
          redis: ['cache'],
          hosts: ['db'],
          resources: true,
          thresholds: {
            cpuPercent: { warning: 80, critical: 85 },
            memoryPercent: { warning: 85, critical: 90 },
            diskPercent: { warning: 80, critical: 85 },
          },
          notify: ['ops'],
        }),
        checkSystemdUnit: async (u: string) => answer('systemd', u),
        checkHttpEndpoint: async (n: string) => answer('http', n),
        checkPostgres: async (n: string) => answer('postgres', n),
        checkRedis: async (n: string) => answer('redis', n),
        checkTcpHost: async (n: string) => answer('tcp', n),
        checkHostResources: async () => [answer('cpu', 'host'), answer('disk', '/')],
        notify: async (n: Notification) => {
          sendAttempts++;
          sent.push(n);
          if (sendAttempts <= failSendsFirst) throw new Error('webhook ops answered HTTP 500: queue full');
          // A slow mail server: the send does not heartbeat while it waits for the answer.
          if (sendTakesMs) await new Promise((r) => setTimeout(r, sendTakesMs));
          return { notifier: n.notifier, status: 200 };
        },
      },
    });
    const result = await worker.runUntil(
      env.client.workflow.execute(healthCheckWorkflow, {
        taskQueue: 'hc-test',
        workflowId: `hc-${Math.random()}`,
        args: [input as any],
      }),
    );
    return { result, checked };
  }

  test('all healthy: every check runs, 8/8 healthy, nobody is alerted', async () => {
    const sent: Notification[] = [];
    const { result, checked } = await run({}, {}, sent);
    expect(checked.sort()).toEqual(
      [
        'systemd:nginx',
        'http:web',
        'postgres:primary',
        'postgres:replica',
        'redis:cache',
        'tcp:db',
        'cpu:host',
        'disk:/',
      ].sort(),
    );
    expect(result.summary).toBe('8/8 healthy');
    expect(result.overall).toBe('healthy');
    expect(sent).toHaveLength(0);
  });

  test('one target down: overall down, one alert naming it, the same key on every retry', async () => {
    const sent: Notification[] = [];
    const { result } = await run({ replica: 'down', '/': 'warning' }, {}, sent, 2);
    expect(result.overall).toBe('down');
    expect(result.summary).toBe('6/8 healthy');
    expect(result.failing.map((c) => c.target)).toEqual(['replica']);
    expect(result.notified).toEqual(['ops']);
    expect(sent).toHaveLength(3); // two failed attempts, then delivered
    expect(new Set(sent.map((n) => n.idempotencyKey)).size).toBe(1);
    expect(sent[0].text).toContain('DOWN postgres replica');
    expect(sent[0].severity).toBe('critical');
  });

  test("a send slower than the checks' heartbeat timeout is waited for, not cut short and sent again", async () => {
    const sent: Notification[] = [];
    const { result } = await run({ replica: 'down' }, {}, sent, 0, 12_000);
    expect(result.notified).toEqual(['ops']);
    expect(sent).toHaveLength(1);
  });

  test('an alert that cannot be delivered fails the run with the receiver\'s words, not "Activity task failed"', async () => {
    const sent: Notification[] = [];
    const err = await run({ replica: 'down' }, {}, sent, 1_000).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause?.message).toBe('health check failed while notifying: webhook ops answered HTTP 500: queue full');
    expect(sent).toHaveLength(10); // every attempt the retry policy allows
  });

  test('invalid input fails at once, naming the field, and checks nothing', async () => {
    const sent: Notification[] = [];
    const err = await run({}, { targets: { http: ['bad name!'] } }, sent).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String(err.cause?.message)).toMatch(/targets\.http\.0/);
    expect(sent).toHaveLength(0);
  });

  describe('thresholds from a baseline', () => {
    const description =
      'thresholds from baseline of checkout taken 2026-11-20 14:00: cpuPercent 40/50 %, memoryPercent 70/80 %';
    /** A host at CPU 60 % and memory 75 %: healthy by the defaults (80/85, 85/90), not by this baseline. */
    async function runFromBaseline(resolve: (spec: unknown) => Promise<unknown>) {
      const judged: ResourceThresholds[] = [];
      const asked: unknown[] = [];
      const taskQueue = `hc-baseline-${Math.random()}`;
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: await workflowBundle(),
        activities: {
          resolveBaselineThresholds: async (spec: unknown) => {
            asked.push(spec);
            return resolve(spec);
          },
          planHealthCheck: async () => ({
            systemd: [],
            http: [],
            postgres: [],
            redis: [],
            hosts: [],
            resources: true,
            notify: [],
            thresholds: {
              cpuPercent: { warning: 80, critical: 85 },
              memoryPercent: { warning: 85, critical: 90 },
              diskPercent: { warning: 70, critical: 75 },
            },
          }),
          checkHostResources: async (t: ResourceThresholds): Promise<CheckResult[]> => {
            judged.push(t);
            return [
              {
                kind: 'cpu',
                target: 'host',
                value: 60,
                status: rateLevel(60, t.cpuPercent),
                message: `60% (critical > ${t.cpuPercent.critical}%)`,
              },
              {
                kind: 'memory',
                target: 'host',
                value: 75,
                status: rateLevel(75, t.memoryPercent),
                message: `75% (critical > ${t.memoryPercent.critical}%)`,
              },
            ];
          },
        },
      });
      const handle = await env.client.workflow.start(healthCheckWorkflow, {
        taskQueue,
        workflowId: `hc-${Math.random()}`,
        args: [{ thresholds: { fromBaseline: 'checkout' } } as any],
      });
      const out = await worker.runUntil(async () => {
        const result = await handle.result().catch((e) => e);
        return { result, status: await handle.query(statusQuery) };
      });
      return { ...out, judged, asked };
    }

    test('CPU and memory levels come from the baseline (disk from the plan), once, and the run says where they came from', async () => {
      const { result, status, judged, asked } = await runFromBaseline(async () => ({
        levels: { cpuPercent: { warning: 40, critical: 50 }, memoryPercent: { warning: 70, critical: 80 } },
        sources: { cpuPercent: 'baseline host', memoryPercent: 'baseline host' },
        baseline: { workflowId: 'baseline-checkout', runId: 'b1', takenAt: '2026-11-20T14:00:00.000Z', complete: true },
        description,
      }));
      expect(asked).toEqual([
        {
          fromBaseline: 'checkout',
          maxAge: 7 * 86_400_000,
          acceptPartial: false,
          metrics: ['cpuPercent', 'memoryPercent'],
          overrides: {},
        },
      ]);
      expect(judged).toEqual([
        {
          cpuPercent: { warning: 40, critical: 50 },
          memoryPercent: { warning: 70, critical: 80 },
          diskPercent: { warning: 70, critical: 75 },
        },
      ]);
      expect(result.checks.map((c: CheckResult) => `${c.kind}:${c.status}`)).toEqual([
        'cpu:critical',
        'memory:warning',
      ]);
      expect(result.overall).toBe('critical');
      expect(result.thresholdsFrom).toBe(description);
      expect(status.thresholdsFrom?.description).toBe(description);
      expect(status.plan?.thresholds.cpuPercent).toEqual({ warning: 40, critical: 50 });
    });

    test('no usable baseline fails the run saying so, and checks nothing', async () => {
      const { result, judged } = await runFromBaseline(async () => {
        throw ApplicationFailure.nonRetryable(
          'thresholds from baseline: no complete baseline of checkout is stored (run `opsflow start baseline` first)',
          'BaselineGateUnavailable',
        );
      });
      expect(result).toBeInstanceOf(WorkflowFailedError);
      expect(result.cause?.message).toBe(
        'health check failed while planning: thresholds from baseline: no complete baseline of checkout is stored (run `opsflow start baseline` first)',
      );
      expect(judged).toEqual([]);
    });
  });
});

import { Worker } from '@temporalio/worker';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { healthCheckWorkflow } from '../../src/workflows';
import type { CheckResult } from '../../src/domain/health';
import type { Notification } from '../../src/domain/notification';

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

  async function run(fleet: Record<string, CheckResult['status']>, input: unknown, sent: Notification[], failSendsFirst = 0) {
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
          thresholds: { cpuPercent: { warning: 80, critical: 85 }, memoryPercent: { warning: 85, critical: 90 }, diskPercent: { warning: 80, critical: 85 } },
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
          if (sendAttempts <= failSendsFirst) throw new Error('receiver answered 500');
          return { notifier: n.notifier, status: 200 };
        },
      },
    });
    const result = await worker.runUntil(
      env.client.workflow.execute(healthCheckWorkflow, { taskQueue: 'hc-test', workflowId: `hc-${Math.random()}`, args: [input as any] }),
    );
    return { result, checked };
  }

  test('all healthy: every check runs, 8/8 healthy, nobody is alerted', async () => {
    const sent: Notification[] = [];
    const { result, checked } = await run({}, {}, sent);
    expect(checked.sort()).toEqual(
      ['systemd:nginx', 'http:web', 'postgres:primary', 'postgres:replica', 'redis:cache', 'tcp:db', 'cpu:host', 'disk:/'].sort(),
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

  test('invalid input fails at once, naming the field, and checks nothing', async () => {
    const sent: Notification[] = [];
    const err = await run({}, { targets: { http: ['bad name!'] } }, sent).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String(err.cause?.message)).toMatch(/targets\.http\.0/);
    expect(sent).toHaveLength(0);
  });
});

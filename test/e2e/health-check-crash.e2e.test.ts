import { createServer, type Server } from 'node:http';
import { Stack, writeConfig, killWorker } from '../helpers/stack';
import { HttpReceiver } from '../helpers/http-receiver';
import { freePort, waitFor } from '../helpers/ports';
import { HEARTBEAT_TIMEOUT, retriedAttempts } from '../helpers/retries';
import type { HealthCheckResult } from '../../src/workflows/health/workflow';

/**
 * The worker is SIGKILLed while a health check's HTTP probe is in flight, and the Temporal server
 * is killed -9 and restarted before another worker comes: that worker takes the run over, the probe
 * is retried, the report is whole (the target refusing connections reported down) and the alert,
 * refused with 503 twice by the receiver, is delivered exactly once.
 */
describe('health check survives worker SIGKILL (dev server)', () => {
  let stack: Stack;
  let slow: Server;
  let slowRequests = 0;
  let configPath: string;
  const receiver = new HttpReceiver({ honourKey: true });

  beforeAll(async () => {
    const [slowPort, deadPort] = await Promise.all([freePort(), freePort()]);
    // Answers after 3 s, so the first worker is killed with the probe in flight.
    slow = createServer((_q, r) => {
      slowRequests++;
      setTimeout(() => r.writeHead(200).end('ok'), 3_000);
    }).listen(slowPort, '127.0.0.1');
    await receiver.start();
    configPath = writeConfig({
      http: {
        slow: { url: `http://127.0.0.1:${slowPort}/health`, timeoutMs: 10_000 },
        gone: { url: `http://127.0.0.1:${deadPort}/health`, timeoutMs: 2_000 },
      },
      notifiers: { ops: { type: 'webhook', url: `${receiver.url}/hook` } },
      healthCheckNotify: ['ops'],
    });
    stack = await Stack.start({ persistent: true });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await receiver.stop();
    slow?.close();
  });

  const startWorker = () => stack.spawnWorkerProcess(configPath);

  test('SIGKILL with a probe in flight, server kill -9, alert receiver 503 twice: the run finishes on another worker, whole report, one alert', async () => {
    let worker = startWorker();
    const handle = await stack.client.workflow.start('healthCheckWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'hc-crash-1',
      args: [
        { targets: { resources: false, http: ['slow', 'gone'], postgres: [], redis: [], hosts: [], systemd: [] } },
      ],
    });
    await waitFor('the slow probe in flight', () => slowRequests >= 1, 60_000, 100);
    await killWorker(worker.child);
    expect(receiver.requests).toHaveLength(0);
    await stack.restartServer();
    receiver.failNext(2);

    worker = startWorker();
    try {
      const result = (await handle.result()) as HealthCheckResult;
      // The probe that died with the first worker was sent again by the second.
      expect(slowRequests).toBeGreaterThanOrEqual(2);
      expect(result.checks.map((c) => [c.target, c.status]).sort()).toEqual([
        ['gone', 'down'],
        ['slow', 'healthy'],
      ]);
      expect(result.summary).toBe('1/2 healthy');
      expect(result.notified).toEqual(['ops']);
      expect(receiver.requests).toHaveLength(1);
      expect(receiver.accepted).toHaveLength(1);
      expect(receiver.attempts).toHaveLength(3); // two refused, then taken
      expect(receiver.requests[0].json.text ?? JSON.stringify(receiver.requests[0].json)).toMatch(/gone/);
      // The slow probe's second attempt followed a heartbeat timeout, not the 30 s start-to-close one.
      // On a busy machine the dead target's probe may still be in flight at the kill too: then it
      // is retried the same way, never after a start-to-close timeout.
      const retried = await retriedAttempts(handle);
      expect(retried).toContainEqual({
        activityType: 'checkHttpEndpoint',
        input: '"slow"',
        attempt: 2,
        timeoutType: HEARTBEAT_TIMEOUT,
      });
      for (const r of retried.filter((a) => a.activityType !== 'notify'))
        expect(r).toMatchObject({ activityType: 'checkHttpEndpoint', attempt: 2, timeoutType: HEARTBEAT_TIMEOUT });
    } finally {
      await killWorker(worker.child);
    }
  }, 180_000);
});

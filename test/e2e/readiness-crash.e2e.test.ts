import { createServer, type Server } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { Stack, waitFor, writeConfig, killWorker } from '../helpers/stack';
import { freePort } from '../helpers/ports';
import { HEARTBEAT_TIMEOUT, retriedAttempts } from '../helpers/retries';
import type { ReadinessResult } from '../../src/workflows/readiness/workflow';
import { recheckSignal, signOffUpdate, statusQuery } from '../../src/workflows/readiness/messages';

/**
 * The readiness gate survives its Temporal server and its worker: the server killed -9 and started
 * again on its SQLite file while the gate waits (the worker reconnects), then the worker SIGKILLed
 * while the gate waits; the first round's evidence (the port refusing connections) is kept, a
 * recheck and a sign-off close it READY. Then a worker SIGKILLed with a check in flight (an HTTP
 * endpoint that holds its first request): the check heartbeats, so a new worker retries it within
 * the heartbeat timeout and the gate closes on the retried check's answer.
 */
describe('readiness gate survives a killed Temporal server and a SIGKILLed worker', () => {
  let stack: Stack;
  let configPath: string;
  let server: Server | undefined;
  let port: number;
  const env: NodeJS.ProcessEnv = {};
  // The endpoint of the in-flight case: it never answers its first request (the check the killed
  // worker was making), and answers every later one 200. Each request is counted.
  let held: HttpServer;
  const heldRequests: { abandoned: boolean }[] = [];

  beforeAll(async () => {
    stack = await Stack.start({ persistent: true });
    port = await freePort();
    const heldPort = await freePort();
    held = createHttpServer((_q, res) => {
      const request = { abandoned: false };
      if (heldRequests.push(request) > 1) return void res.writeHead(200).end('ok');
      res.on('close', () => (request.abandoned = !res.writableEnded));
    });
    await new Promise<void>((r) => held.listen(heldPort, '127.0.0.1', r));
    configPath = writeConfig({
      // Longer than the test waits: the first check is held until its worker dies, never timed out.
      http: { held: { url: `http://127.0.0.1:${heldPort}/ready`, timeoutMs: 120_000 } },
      readiness: {
        checklists: {
          held: { items: [{ id: 'api', check: 'http', target: 'held' }] },
          api: {
            items: [
              { id: 'port', check: 'tcp', host: '127.0.0.1', open: [port] },
              { id: 'rota', check: 'signOff', description: 'on-call rota published' },
            ],
          },
        },
      },
    });
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    held?.closeAllConnections();
    await new Promise((r) => (held ? held.close(r) : r(undefined)));
  }, 60_000);

  test('server killed -9 and worker killed while waiting, both restarted: the same run keeps its first round, re-checks and closes READY', async () => {
    const first = stack.spawnWorkerProcess(configPath, env);
    const handle = await stack.client.workflow.start('readinessCheckWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'readiness-api',
      args: [{ service: 'api', checklist: 'api', deadline: '5m' }],
    });
    const waiting = await waitFor(
      'first round done',
      async () => {
        const s = await handle.query(statusQuery).catch(() => undefined);
        return s?.phase === 'waiting' ? s : undefined;
      },
      60_000,
      250,
    );
    expect(waiting.blocking).toEqual(['port', 'rota']);
    expect(waiting.items[0].result!.evidence[0].value).toMatch(/^closed/);

    // The server dies with the gate's timer pending; the same worker goes on against the restarted one.
    await stack.restartServer();
    const afterRestart = await waitFor(
      'the gate answering after the restart',
      async () => (await handle.query(statusQuery)) ?? undefined,
      60_000,
      250,
    );
    expect(afterRestart).toMatchObject({ phase: 'waiting', rounds: 1, blocking: ['port', 'rota'] });
    expect(first.child.exitCode).toBeNull();
    await killWorker(first.child);

    // The port opens while no worker runs.
    server = createServer((s) => s.end());
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
    await handle.signal(recheckSignal, { by: 'carol' });

    const second = stack.spawnWorkerProcess(configPath, env);
    await waitFor(
      'second round done',
      async () => {
        const s = await handle.query(statusQuery).catch(() => undefined);
        return s?.rounds === 2 && s.phase === 'waiting' ? s : undefined;
      },
      60_000,
      250,
    );
    const signed = await handle.executeUpdate(signOffUpdate, { args: [{ item: 'rota', by: 'alice' }] });
    expect(signed.blocking).toEqual([]);
    const result = (await handle.result()) as ReadinessResult;
    await killWorker(second.child);
    expect(result.ready).toBe(true);
    expect(result.status.items[0].result!.evidence[0].value).toMatch(/^open/);
    expect(result.status.decisions).toContain('port: fail → pass (1 of 1 met)');
  });

  test('many re-checks: the gate continues as new past its history limit and keeps results, signers and rounds', async () => {
    if (!server) {
      server = createServer((s) => s.end());
      await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
    }
    const worker = stack.spawnWorkerProcess(configPath, env);
    const handle = await stack.client.workflow.start('readinessCheckWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'readiness-api-long',
      args: [{ service: 'api-long', checklist: 'api', deadline: '5m', maxHistoryEvents: 50 }],
    });
    const firstRunId = handle.firstExecutionRunId;
    await waitFor(
      'first round done',
      async () => ((await handle.query(statusQuery).catch(() => undefined))?.phase === 'waiting' ? true : undefined),
      60_000,
      250,
    );
    let rounds = 1;
    for (; rounds < 15; rounds++) {
      const runId = (await handle.describe()).runId;
      if (runId !== firstRunId) break;
      await handle.signal(recheckSignal, { by: 'carol' });
      const want = rounds + 1;
      await waitFor(
        `round ${want}`,
        async () => {
          const s = await handle.query(statusQuery).catch(() => undefined);
          return s && s.rounds >= want && s.phase === 'waiting' ? true : undefined;
        },
        30_000,
        200,
      );
    }
    expect((await handle.describe()).runId).not.toBe(firstRunId);
    const carried = await handle.query(statusQuery);
    expect(carried.rounds).toBe(rounds);
    expect(carried.decisions).toContain('continuing as new (history generation 1)');
    expect(carried.items[0].result!.outcome).toBe('pass');
    const signed = await handle.executeUpdate(signOffUpdate, { args: [{ item: 'rota', by: 'alice' }] });
    expect(signed.ready).toBe(true);
    const result = (await handle.result()) as ReadinessResult;
    await killWorker(worker.child);
    expect(result.ready).toBe(true);
    expect(result.status.rounds).toBe(rounds);
  });

  test('worker SIGKILLed with a check in flight: the check heartbeated, a new worker retries it after the heartbeat timeout, the gate closes READY on its answer', async () => {
    const first = stack.spawnWorkerProcess(configPath, env);
    const handle = await stack.client.workflow.start('readinessCheckWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'readiness-held',
      args: [{ service: 'held', checklist: 'held', deadline: '5m' }],
    });
    await waitFor('the check held by the endpoint', () => heldRequests.length >= 1, 60_000, 100);
    // The server has a heartbeat of the running check: without one, only start-to-close (2 min) would notice the kill.
    await waitFor(
      'a heartbeat of the held check',
      async () =>
        ((await handle.describe()).raw.pendingActivities ?? []).some(
          (a) => a.activityType?.name === 'readinessHttp' && a.lastHeartbeatTime,
        ),
      30_000,
      250,
    );
    await killWorker(first.child);
    // The killed worker's request died with it, unanswered.
    await waitFor('the held request abandoned', () => heldRequests[0].abandoned, 10_000, 50);

    const second = stack.spawnWorkerProcess(configPath, env);
    try {
      // Well under the 2 min start-to-close timeout: only a heartbeat timeout retries it this soon.
      await waitFor('the check retried by the new worker', () => heldRequests.length >= 2, 60_000, 250);
      const result = (await handle.result()) as ReadinessResult;
      expect(result.ready).toBe(true);
      expect(result.status.items[0].result).toMatchObject({ outcome: 'pass' });
      expect(result.status.items[0].result!.evidence[0].value).toMatch(/^HTTP 200 in/);
      // One request per attempt: the killed one, then the retry that decided the verdict.
      expect(heldRequests).toEqual([{ abandoned: true }, { abandoned: false }]);
      const retried = await retriedAttempts(handle);
      expect(retried.map(({ activityType, attempt, timeoutType }) => ({ activityType, attempt, timeoutType }))).toEqual(
        [{ activityType: 'readinessHttp', attempt: 2, timeoutType: HEARTBEAT_TIMEOUT }],
      );
    } finally {
      await killWorker(second.child);
    }
  });
});

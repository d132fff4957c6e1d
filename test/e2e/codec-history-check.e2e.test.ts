import { createServer, type Server } from 'node:http';
import { Stack } from '../helpers/stack';
import { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../helpers/temporal';
import { freePort } from '../helpers/ports';
import { testToken } from '../helpers/tokens';
import { ENCODED_FAILURE_MESSAGE, inspectEncryptedHistory } from '../helpers/encrypted-histories';

// This file's own stack runs in the e2e tier's encrypted mode (jest gives each file its own process.env).
process.env.OPSFLOW_TEST_ENCRYPTION = '1';

/**
 * The encrypted mode's teardown check (`OPSFLOW_TEST_ENCRYPTION=1`, run over the crash matrix by
 * `npm run test:encrypted`), tested in the normal suite: it passes on runs the stack's workers and
 * client encrypted, and fails, naming the run and the event, on a run whose input a client without
 * the codec wrote in clear.
 */
describe('the encrypted mode checks every raw history through the codec server', () => {
  const target = testToken('target'); // the health target's name: an issued secret, in inputs and results
  const unknown = testToken('missing'); // a target the worker lacks: its run fails quoting the name
  let stack: Stack;
  let web: Server;

  const input = (name: string) => ({ targets: { resources: false, http: [name], postgres: [], redis: [], hosts: [] } });

  beforeAll(async () => {
    const port = await freePort();
    web = createServer((_q, r) => r.writeHead(200).end('ok')).listen(port, '127.0.0.1');
    stack = await Stack.start({ namespaces: ['enc-clear'] });
    expect(stack.encrypted).toBe(true);
    // no encryption section given: the mode adds its own
    await stack.startWorker({ http: { [target]: { url: `http://127.0.0.1:${port}/health` } } });
  }, 240_000);

  afterAll(async () => {
    await new Promise((r) => (web ? web.close(r) : r(undefined)));
    await stack?.stop(); // the check again, on what the tests left: it must pass
  });

  test('encrypted runs, a failed one included, pass; the test client reads them clear', async () => {
    const result = await stack.client.workflow.execute('healthCheckWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'enc-ok',
      args: [input(target)],
      workflowExecutionTimeout: '3 minutes',
    });
    expect(JSON.stringify(result)).toContain(target);
    await expect(
      stack.client.workflow.execute('healthCheckWorkflow', {
        taskQueue: 'opsflow',
        workflowId: 'enc-failed',
        args: [input(unknown)],
        workflowExecutionTimeout: '3 minutes',
      }),
    ).rejects.toThrow();
    // the raw failure is the placeholder; the failure through the codec names the target
    const failed = await stack.rawClient.workflow.getHandle('enc-failed').fetchHistory();
    const closed = failed.events!.find((e) => e.workflowExecutionFailedEventAttributes)!;
    expect(closed.workflowExecutionFailedEventAttributes!.failure!.message).toBe(ENCODED_FAILURE_MESSAGE);
    const err = await stack.client.workflow
      .getHandle('enc-failed')
      .result()
      .catch((e: Error) => e);
    expect(String((err as Error & { cause?: Error }).cause?.message)).toContain(unknown);

    expect(await stack.encryptedHistories()).toEqual([]); // what the teardown runs
  });

  test('a run started by a client without the codec fails the check, named with its run and event', async () => {
    // In a namespace of its own, which no worker serves and the teardown does not check: its start
    // event is what a client without the codec writes.
    const clearClient = new Client({ connection: stack.env.connection, namespace: 'enc-clear' });
    const handle = await clearClient.workflow.start('healthCheckWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'clear-run',
      args: [input(target)],
      workflowExecutionTimeout: '3 minutes',
    });
    const run = `clear-run run ${handle.firstExecutionRunId} (healthCheckWorkflow) event 1 workflowExecutionStartedEventAttributes.input.payloads[0]`;
    expect(await stack.encryptedHistories('enc-clear')).toEqual([
      `${run}: payload in clear (encoding "json/plain")`,
      `${run}.data: holds a test secret ending …${target.slice(-6)}`,
    ]);
    await handle.terminate();
  });

  test("a run whose workflow task a worker without the codec fails: stack.result rejects at once with the task's failure", async () => {
    // In enc-clear, after the test above read it whole: the plain worker writes its task failure in clear.
    const client = new Client({
      connection: stack.env.connection,
      namespace: 'enc-clear',
      dataConverter: stack.dataConverter,
    });
    const plain = await Worker.create({
      connection: stack.env.nativeConnection,
      namespace: 'enc-clear',
      taskQueue: 'plain-worker',
      workflowBundle: await workflowBundle(),
      activities: {},
    });
    const handle = await client.workflow.start('healthCheckWorkflow', {
      taskQueue: 'plain-worker',
      workflowId: 'plain-worker-run',
      args: [input('web')],
      workflowExecutionTimeout: '3 minutes',
    });
    // handle.result() alone would wait for the execution timeout (jest's deadline first).
    await expect(plain.runUntil(stack.result(handle))).rejects.toThrow(
      /^plain-worker-run: its workflow task failed \(event \d+\): Unknown encoding: binary\/opsflow-aes256gcm$/,
    );
    await handle.terminate();
  });

  test('a patched() marker passes in clear with its id and flag only, as the core SDK writes it', () => {
    const marker = (data: unknown) => [
      {
        eventId: 5,
        markerRecordedEventAttributes: {
          markerName: 'core_patch',
          details: {
            'patch-data': {
              payloads: [
                { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(data)) },
              ],
            },
          },
        },
      },
    ];
    expect(inspectEncryptedHistory('r', marker({ id: 'some-patch', deprecated: false }), []).findings).toEqual([]);
    expect(
      inspectEncryptedHistory('r', marker({ id: 'some-patch', deprecated: false, row: 'users 42' }), []).findings,
    ).toEqual([
      {
        where: 'r event 5 markerRecordedEventAttributes.details.patch-data.payloads[0]',
        problem: 'payload in clear (encoding "json/plain")',
      },
    ]);
  });

  test('the failure the server writes on a reset run passes; the same event with a failure an SDK wrote is named', () => {
    const taskFailed = (
      failure: Record<string, unknown>,
      cause: unknown = 'WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW',
    ) => [{ eventId: 4, workflowTaskFailedEventAttributes: { cause, identity: 'history-service', failure } }];
    const reason = 'test: reset to the first task';
    const reset = { message: reason, resetWorkflowFailureInfo: {} };
    expect(inspectEncryptedHistory('r', taskFailed(reset), []).findings).toEqual([]);
    expect(inspectEncryptedHistory('r', taskFailed(reset, 20), []).findings).toEqual([]);
    const where = 'r event 4 workflowTaskFailedEventAttributes.failure';
    const named = (events: ReturnType<typeof taskFailed>) =>
      inspectEncryptedHistory('r', events, []).findings.map((f) => `${f.where}: ${f.problem}`);
    // an SDK's workflow task failure in clear, in the same event, the reset's cause and identity included
    expect(named(taskFailed({ ...reset, source: 'TypeScriptSDK', stackTrace: 'at run (x.ts:1)' }))).toEqual([
      `${where}: failure message in clear (${reason.length} characters)`,
      `${where}: failure stack trace in clear`,
      `${where}: failure without encoded attributes`,
    ]);
    expect(named(taskFailed({ message: reason, applicationFailureInfo: { type: 'Error' } }))).toEqual([
      `${where}: failure message in clear (${reason.length} characters)`,
      `${where}: failure without encoded attributes`,
    ]);
    // the reset's shape under another cause or from another identity is not the server's reset
    expect(named(taskFailed(reset, 'WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE'))).toHaveLength(2);
    const fromWorker = taskFailed(reset);
    fromWorker[0].workflowTaskFailedEventAttributes.identity = 'worker@host';
    expect(named(fromWorker)).toHaveLength(2);
  });

  test('a failure an SDK wrote with its message or stack trace in clear is named; the placeholder passes', () => {
    const failure = (message: string, stackTrace = '') => [
      {
        eventId: 7,
        activityTaskFailedEventAttributes: {
          failure: { message, stackTrace, source: 'TypeScriptSDK', applicationFailureInfo: { type: 'Error' } },
        },
      },
    ];
    const clear = inspectEncryptedHistory('r', failure('row 42 of users', 'at copy (x.ts:1)'), []).findings;
    expect(clear.map((f) => `${f.where}: ${f.problem}`)).toEqual([
      'r event 7 activityTaskFailedEventAttributes.failure: failure message in clear (15 characters)',
      'r event 7 activityTaskFailedEventAttributes.failure: failure stack trace in clear',
      'r event 7 activityTaskFailedEventAttributes.failure: failure without encoded attributes',
    ]);
    const encoded = failure(ENCODED_FAILURE_MESSAGE);
    (encoded[0].activityTaskFailedEventAttributes.failure as Record<string, unknown>).encodedAttributes = {
      metadata: {
        encoding: Buffer.from('binary/opsflow-aes256gcm'),
        'opsflow-key-id': Buffer.from('k'),
        'opsflow-compression': Buffer.from('none'),
      },
      data: Buffer.from([1, 2, 3]),
    };
    const ok = inspectEncryptedHistory('r', encoded, []);
    expect(ok.findings).toEqual([]);
    expect(ok.payloads.map((p) => p.where)).toEqual([
      'r event 7 activityTaskFailedEventAttributes.failure.encodedAttributes',
    ]);
  });
});

import type { Payload } from '@temporalio/common';
import { Stack } from '../helpers/stack';
import { waitFor } from '../helpers/ports';
import { secretsInHistories } from '../helpers/history-secrets';
import { issuedSecrets, testToken } from '../helpers/tokens';

/**
 * The check every stack's teardown makes (no test token in any raw history) fed what it exists to
 * catch: a run whose input carries a token. The stack is torn down without the check here, since
 * the leak is made on purpose. The leak is written by a client without a codec, so the search is
 * fed it in the suite's encrypted mode too; there, the same token in an input the mode's client
 * encrypted must not be found.
 */
describe('the teardown search for secrets in history', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start();
  }, 120_000);
  afterAll(async () => {
    await stack?.stopUnchecked();
  });

  /** What the teardown searches: every run's raw history, read without a codec. */
  const search = () => secretsInHistories(stack.rawClient, issuedSecrets());
  /** Visibility lists a new run a moment after its start: the search reaches it only then. */
  const listed = (workflowId: string) =>
    waitFor(
      `${workflowId} to be listed`,
      async () =>
        (
          await stack.rawClient.workflowService.listWorkflowExecutions({
            namespace: stack.rawClient.options.namespace,
            query: `WorkflowId = '${workflowId}'`,
          })
        ).executions?.length
          ? true
          : undefined,
      30_000,
      250,
    );

  test('finds a token in a run input and names the run; finds nothing in a clean run', async () => {
    const token = testToken('leak');
    const clean = await search();
    await stack.client.workflow.start('healthCheckWorkflow', {
      taskQueue: 'no-worker',
      workflowId: 'clean-run',
      args: [{}],
    });
    await listed('clean-run');
    expect(await search()).toEqual(clean);
    if (stack.encrypted) {
      // the mode's client encrypts the input: the run holds the token, and its raw history does not show it
      const sealed = await stack.client.workflow.start('healthCheckWorkflow', {
        taskQueue: 'no-worker',
        workflowId: 'encrypted-run',
        args: [{ note: `Bearer ${token}` }],
      });
      const started = (await sealed.fetchHistory()).events![0].workflowExecutionStartedEventAttributes!;
      expect(await stack.payloadValue(started.input!.payloads![0] as Payload)).toEqual({ note: `Bearer ${token}` });
      await listed('encrypted-run');
      expect(await search()).toEqual(clean);
    }
    await stack.rawClient.workflow.start('healthCheckWorkflow', {
      taskQueue: 'no-worker',
      workflowId: 'leaky-run',
      args: [{ note: `Bearer ${token}` }],
    });
    await listed('leaky-run');
    expect(await search()).toEqual([`leaky-run (healthCheckWorkflow) holds a test secret ending …${token.slice(-6)}`]);
  });
});

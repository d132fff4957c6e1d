import { Stack } from '../helpers/stack';
import { waitFor } from '../helpers/ports';
import { secretsInHistories } from '../helpers/history-secrets';
import { issuedSecrets, testToken } from '../helpers/tokens';

/**
 * The check every stack's teardown makes (no test token in any raw history) fed what it exists to
 * catch: a run whose input carries a token. The stack is torn down without the check here, since
 * the leak is made on purpose.
 */
describe('the teardown search for secrets in history', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start();
  }, 120_000);
  afterAll(async () => {
    await stack?.env.teardown();
  });

  test('finds a token in a run input and names the run; finds nothing in a clean run', async () => {
    const token = testToken('leak');
    const clean = await secretsInHistories(stack.client, issuedSecrets());
    await stack.client.workflow.start('healthCheckWorkflow', {
      taskQueue: 'no-worker',
      workflowId: 'clean-run',
      args: [{}],
    });
    expect(await secretsInHistories(stack.client, issuedSecrets())).toEqual(clean);
    await stack.client.workflow.start('healthCheckWorkflow', {
      taskQueue: 'no-worker',
      workflowId: 'leaky-run',
      args: [{ note: `Bearer ${token}` }],
    });
    // Visibility lists a new run a moment after its start: wait (bounded) until the search reaches it.
    const found = await waitFor(
      'the leaky run to be searched',
      async () => {
        const f = await secretsInHistories(stack.client, issuedSecrets());
        return f.length ? f : undefined;
      },
      30_000,
      250,
    );
    expect(found).toEqual([`leaky-run (healthCheckWorkflow) holds a test secret ending …${token.slice(-6)}`]);
  });
});

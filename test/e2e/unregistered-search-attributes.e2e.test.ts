import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { Stack, waitFor } from '../helpers/stack';
import { workflowBundle } from '../helpers/temporal';
import { requirePostgres } from '../helpers/services';
import { migrationConfig } from '../helpers/migration-fixtures';
import { createActivities } from '../../src/activities';
import { parseConfigText } from '../../src/config/load';

/**
 * A namespace without opsflow's search attributes (any cluster before they are created): a run
 * whose input names an unknown target must fail, naming it, before its first upsert, instead of
 * failing its workflow task on the unregistered attribute and staying Running forever.
 *
 * The worker is built here from the activities and the bundle, not through createWorker, so the
 * test is about the workflows alone, whatever the worker's own start-up checks do.
 */
jest.setTimeout(180_000);

describe('workflows plan before their first search-attribute upsert (dev server without the attributes)', () => {
  let stack: Stack;
  let worker: Worker;
  let running: Promise<void>;

  beforeAll(async () => {
    await requirePostgres();
    stack = await Stack.start({ searchAttributes: false });
    const config = parseConfigText(
      JSON.stringify({ ...migrationConfig(), metricSources: { host: { type: 'host' } } }),
      'unregistered-sa.json',
    );
    // In the suite's encrypted mode: the mode's key, and the bundle with the encoding failure
    // converter, as createWorker would have them.
    worker = await Worker.create({
      connection: stack.env.nativeConnection,
      taskQueue: 'opsflow',
      workflowBundle: await workflowBundle({ encrypted: stack.encrypted }),
      activities: createActivities(config),
      ...(stack.dataConverter ? { dataConverter: stack.dataConverter } : {}),
    });
    running = worker.run();
  }, 120_000);
  afterAll(async () => {
    worker?.shutdown();
    await running?.catch(() => undefined);
    await stack?.stop();
  }, 60_000);

  /** The run's end, or a failure of this test if it is still Running (a workflow task failing over and over). */
  async function outcome(handle: WorkflowHandle): Promise<Error> {
    const ended = await waitFor(
      `${handle.workflowId} to close`,
      async () => ((await handle.describe()).status.name === 'RUNNING' ? undefined : true),
      60_000,
      250,
    ).catch(async (err) => {
      const events = (await handle.fetchHistory()).events ?? [];
      const taskFailures = await Promise.all(
        events
          .filter((e) => e.workflowTaskFailedEventAttributes)
          .map((e) => stack.failureMessage(e.workflowTaskFailedEventAttributes?.failure)),
      );
      throw new Error(
        `${(err as Error).message}; still Running, workflow task failures: ${JSON.stringify(taskFailures.slice(0, 2))}`,
      );
    });
    expect(ended).toBe(true);
    const err = await handle.result().then(
      () => new Error('the run succeeded'),
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    return (err as WorkflowFailedError).cause as Error;
  }

  test('a rollout naming an unknown LB fails with a message naming the LB, not Running forever', async () => {
    const handle = await stack.client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'rollout-checkout-api',
      args: [
        {
          service: 'checkout-api',
          lb: 'no-such-lb',
          backends: { old: 'blue', new: 'green' },
          metricSources: ['host'],
          sampleInterval: '1s',
          steps: [{ weight: 100, window: '1s' }],
        },
      ],
    });
    const cause = await outcome(handle);
    expect(cause.message).toMatch(/^cannot roll out checkout-api, nothing was changed: .*no-such-lb/);
    // Nothing was upserted: the run carries no opsflow attribute at all.
    const described = await handle.describe();
    expect(Object.keys(described.searchAttributes ?? {}).filter((k) => k.startsWith('Opsflow'))).toEqual([]);
  });

  test('a migration naming an unknown database fails with a message naming the database and the field', async () => {
    const handle = await stack.client.workflow.start('dataMigrationWorkflow', {
      taskQueue: 'opsflow',
      workflowId: `mig-unknown-db-${Date.now()}`,
      args: [
        {
          name: 'unknown-db',
          source: { database: 'app', table: 'old_users' },
          target: { database: 'nope', table: 'new_users' },
          key: 'id',
          columns: { id: 'id' },
        },
      ],
    });
    const cause = await outcome(handle);
    expect(cause.message).toMatch(
      /^target\.database: unknown database "nope" \(not in config\.postgres; known: app\)$/,
    );
  });
});

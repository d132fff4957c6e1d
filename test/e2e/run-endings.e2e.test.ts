import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Stack, waitFor } from '../helpers/stack';
import { requirePostgres, pgConnection } from '../helpers/services';
import { migrationConfig } from '../helpers/migration-fixtures';
import { LbApi } from '../helpers/lb-api-load-balancer';
import { HttpReceiver } from '../helpers/http-receiver';
import { OpsflowPhase, OpsflowState } from '../../src/domain/search-attributes';
import { statusQuery as migrationStatusQuery } from '../../src/workflows/migration/messages';
import { abortSignal, statusQuery as rolloutStatusQuery } from '../../src/workflows/rollout/messages';
import { testToken } from '../helpers/tokens';

/**
 * How runs end, on the dev server with real parts: a failure says why in its own message (not
 * "Activity task failed"), a refused notification is recorded with the receiver's status and
 * reason, and a closed run's search attributes say how it ended, so visibility finds it.
 */
jest.setTimeout(180_000);

describe('runs that end badly say why and how (dev server)', () => {
  const LB_KEY_VAR = 'OPSFLOW_E2E_ENDINGS_LB_TOKEN';
  const TOKEN = testToken('endings-lb');
  const REASON = 'channel_is_archived: this channel no longer takes messages';
  let stack: Stack;
  let lb: LbApi;
  let chat: HttpReceiver;

  beforeAll(async () => {
    await requirePostgres();
    stack = await Stack.start();
    lb = await new LbApi(TOKEN).start();
    chat = await new HttpReceiver({ refuse: { status: 403, body: REASON } }).start();
    process.env[LB_KEY_VAR] = TOKEN;
    const base = migrationConfig();
    await stack.startWorker({
      postgres: {
        ...base.postgres,
        // In the config, but PostgreSQL has no such database.
        ghost: {
          host: pgConnection.host,
          port: pgConnection.port,
          user: pgConnection.user,
          database: 'opsflow_no_such_database',
        },
      },
      loadBalancers: { 'lb-api': { type: 'http-api', url: `http://127.0.0.1:${lb.port}`, token: { env: LB_KEY_VAR } } },
      metricSources: { host: { type: 'host' } },
      notifiers: { 'chat-broken': { type: 'webhook', url: `${chat.url}/hook` } },
    });
  }, 150_000);
  afterAll(async () => {
    await stack?.stop();
    await lb?.stop();
    await chat?.stop();
    delete process.env[LB_KEY_VAR];
  }, 60_000);

  const failureOf = async (handle: WorkflowHandle): Promise<ApplicationFailure> => {
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    return (err as WorkflowFailedError).cause as ApplicationFailure;
  };
  /** Visibility is eventually consistent: the list query is asked until it finds the run. */
  const listed = (query: string, workflowId: string) =>
    waitFor(
      `visibility: ${query} lists ${workflowId}`,
      async () => {
        for await (const w of stack.client.workflow.list({ query })) if (w.workflowId === workflowId) return true;
        return undefined;
      },
      30_000,
      250,
    );

  test('a migration whose target database does not exist fails with a message that names it', async () => {
    const handle = await stack.client.workflow.start('dataMigrationWorkflow', {
      taskQueue: 'opsflow',
      workflowId: `mig-ghost-${Date.now()}`,
      args: [
        {
          name: 'ghost-target',
          source: { database: 'app', table: 'old_users' },
          target: { database: 'ghost', table: 'new_users' },
          key: 'id',
          columns: { id: 'id' },
        },
      ],
    });
    const cause = await failureOf(handle);
    expect(cause.message).not.toMatch(/^Activity task failed/);
    expect(cause.message).toMatch(
      /target\.database "ghost" \(postgres\.ghost\): database "opsflow_no_such_database" does not exist/,
    );
    expect(cause.nonRetryable).toBe(true);
  });

  test("a migration that failed in preflight ends OpsflowPhase='failed', and visibility finds it by that", async () => {
    const workflowId = `mig-preflight-${Date.now()}`;
    const table = `no_such_table_${Date.now()}`;
    const handle = await stack.client.workflow.start('dataMigrationWorkflow', {
      taskQueue: 'opsflow',
      workflowId,
      args: [
        {
          name: 'preflight-fails',
          mode: 'dry-run',
          source: { database: 'app', table },
          target: { database: 'app', table: 'new_users' },
          key: 'id',
          columns: { id: 'id' },
        },
      ],
    });
    const cause = await failureOf(handle);
    expect(cause.message).toMatch(
      new RegExp(`^source\\.table: table "[\\w.]*${table}" does not exist in database "app"$`),
    );
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(OpsflowPhase)).toBe('failed');
    const status = await handle.query(migrationStatusQuery);
    expect(status.phase).toBe('failed');
    expect(status.error).toMatch(new RegExp(`^preflight: source\\.table: .*${table}`));
    await listed(`OpsflowPhase = 'failed' AND WorkflowId = '${workflowId}'`, workflowId);
  });

  const rollout = (service: string, notify: string[] = []) => ({
    service,
    lb: 'lb-api',
    backends: { old: 'old_system', new: 'new_system' },
    metricSources: ['host'],
    // Long enough that no sample is due: the abort decides.
    sampleInterval: '30m',
    steps: [
      { weight: 10, window: '1h' },
      { weight: 100, window: '1h' },
    ],
    cleanup: 'none',
    notify,
  });
  const monitoring = (handle: WorkflowHandle) =>
    waitFor(
      `${handle.workflowId} monitoring`,
      async () => ((await handle.query(rolloutStatusQuery)).state === 'monitoring' ? true : undefined),
      60_000,
      200,
    );

  test("a refused notification is recorded with the HTTP status and the receiver's reason", async () => {
    const handle = await stack.client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'rollout-endings-notify',
      args: [rollout('endings-notify', ['chat-broken'])],
    });
    await monitoring(handle);
    await handle.signal(abortSignal, { reason: 'e2e: stop here', by: 'tester' });
    const cause = await failureOf(handle);
    expect(cause.type).toBe('RolloutAborted');
    const status = await handle.query(rolloutStatusQuery);
    expect(status.state).toBe('aborted');
    expect(lb.config.traffic_split).toEqual({ new_system: 0, old_system: 100 });
    const refused = status.decisions.find((d) => d.decision.startsWith('could not notify chat-broken'));
    expect(refused?.decision).toBe(`could not notify chat-broken: webhook chat-broken answered HTTP 403: ${REASON}`);
    expect(chat.attempts.length).toBeGreaterThan(0);
  });

  test("a rollout whose rollback fails ends 'rollback-failed', saying why, and visibility finds it by that", async () => {
    const workflowId = 'rollout-endings-rollback';
    const handle = await stack.client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId,
      args: [rollout('endings-rollback')],
    });
    await monitoring(handle);
    expect(lb.config.traffic_split).toEqual({ new_system: 10, old_system: 90 });
    // The LB API stops taking the token: the rollback's first call is refused (401, no retry fixes it).
    process.env[LB_KEY_VAR] = testToken('revoked');
    try {
      await handle.signal(abortSignal, { reason: 'e2e: roll back now', by: 'tester' });
      const cause = await failureOf(handle);
      expect(cause.message).not.toMatch(/^Activity task failed/);
      expect(cause.message).toMatch(/refused the token from loadBalancers\.lb-api\.token: HTTP 401/);
    } finally {
      process.env[LB_KEY_VAR] = TOKEN;
    }
    // The LB still sends 10 % to the new system, and the run says so rather than "rolling-back".
    expect(lb.config.traffic_split).toEqual({ new_system: 10, old_system: 90 });
    const status = await handle.query(rolloutStatusQuery);
    expect(status.state).toBe('rollback-failed');
    expect(status.failure).toMatch(/HTTP 401/);
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(OpsflowState)).toBe('rollback-failed');
    await listed(`OpsflowState = 'rollback-failed' AND WorkflowId = '${workflowId}'`, workflowId);
  });
});

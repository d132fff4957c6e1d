import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { Stack, waitFor, writeConfig, killWorker } from '../helpers/stack';
import { requirePostgres } from '../helpers/services';
import { PgScratch } from '../helpers/pg-scratch';
import { recordHistory } from '../helpers/histories';
import { migratable, migrationConfig, seedRunbookTables } from '../helpers/migration-fixtures';
import { goLiveConfig, goLiveInput as input } from '../helpers/go-live-fixtures';
import { blueGreenBehindHaproxy, type Haproxy, type startBackend } from '../helpers/haproxy';
import { runtimeApiCommand } from '../../src/activities/systems/load-balancer/haproxy-runtime-api';
import type { GoLiveResult } from '../../src/workflows/go-live/workflow';
import { abortSignal, approveSignal, statusQuery } from '../../src/workflows/go-live/messages';
import { statusQuery as rolloutStatusQuery } from '../../src/workflows/rollout/messages';

jest.setTimeout(240_000);

/**
 * The go-live end to end on the dev server: readiness → data migration on the real PostgreSQL →
 * phased rollout behind the real HAProxy, each a child workflow with its usual id; a failing new
 * backend stops the run at the rollout (rolled back), the migrated rows stay and the run says so;
 * the parent survives a worker SIGKILLed between stages and the Temporal server killed -9 and
 * restarted on its SQLite file there, and HAProxy's Runtime API refusing connections for a burst at
 * the rollout stage (the file is named *crash* so that `npm test -- crash` runs it).
 */
describe('go-live end to end', () => {
  let stack: Stack;
  const pg = new PgScratch('golive_e2e');
  let haproxy: Haproxy;
  let green: Awaited<ReturnType<typeof startBackend>>;
  let configPath: string;
  const env: NodeJS.ProcessEnv = {};
  const api = (cmd: string) => runtimeApiCommand({ socket: haproxy.socket }, cmd, 5000);
  const weight = async (server: string) => Number((await api(`get weight app/${server}`)).split(' ')[0]);

  beforeAll(async () => {
    await requirePostgres();
    stack = await Stack.start({ persistent: true });
    ({ green, haproxy } = await blueGreenBehindHaproxy(stack.processes));
    configPath = writeConfig({
      ...migrationConfig(),
      ...goLiveConfig({ socket: haproxy.socket }, haproxy.url),
    });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await haproxy?.stop();
    await pg.drop();
  }, 60_000);

  /** Blue takes everything, both ready (a completed rollout leaves the old one drained). */
  const resetLb = async () => {
    for (const cmd of [
      'set server app/blue weight 100',
      'set server app/green weight 0',
      'set server app/blue state ready',
      'set server app/green state ready',
    ])
      await api(cmd);
  };
  const rows = (schema: string) => pg.count(`SELECT count(*) FROM ${schema}.new_users`);

  test('the rollout stage fails: HAProxy back to the old backend, the migrated rows stay, the run says which stage, why and what stays', async () => {
    const worker = stack.spawnWorkerProcess(configPath, env);
    const schema = await pg.schema();
    await seedRunbookTables(pg, schema, 1000);
    await green.setStatus(500);
    await resetLb();
    const started = await stack.cli([
      '-c',
      configPath,
      'start',
      'go-live',
      '--input',
      JSON.stringify(input('shop', schema)),
    ]);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const handle = stack.client.workflow.getHandle('go-live-shop');
    const err = await handle.result().catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = err.cause as ApplicationFailure;
    expect(cause.message).toMatch(/^go-live of shop stopped at phasedRollout: .*error/i);
    expect(cause.message).toContain(
      `Stays in place: data migration golive-shop: ${migratable(1000)} rows copied into app.${schema}.new_users, verified (a go-live never undoes a completed migration)`,
    );
    // The rollout child rolled itself back; the migration's rows are in the table.
    expect(await weight('green')).toBe(0);
    expect(await weight('blue')).toBeGreaterThan(0);
    expect(await rows(schema)).toBe(migratable(1000));

    const status = await handle.query(statusQuery);
    expect(status.stages.map((s) => [s.stage, s.workflowId, s.state])).toEqual([
      ['readiness', 'readiness-shop', 'succeeded'],
      ['dataMigration', 'data-migration-golive-shop', 'succeeded'],
      ['phasedRollout', 'rollout-shop', 'failed'],
    ]);
    // Each child has its own history, and answers its own status.
    const rollout = await stack.client.workflow.getHandle('rollout-shop').describe();
    expect(rollout.status.name).toBe('FAILED');
    expect(rollout.parentExecution?.workflowId).toBe('go-live-shop');
    await killWorker(worker.child);
    recordHistory(stack.temporalAddress(), 'go-live-shop', 'go-live-rollout-failed');
  });

  test('the worker is SIGKILLed and the server killed -9 while the go-live waits between stages; a new worker finishes it: migrated once, rolled out, live', async () => {
    const schema = await pg.schema();
    await seedRunbookTables(pg, schema, 600);
    await green.setStatus(200);
    await resetLb();
    const first = stack.spawnWorkerProcess(configPath, env);
    const handle = await stack.client.workflow.start('goLiveWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'go-live-cart',
      args: [input('cart', schema, { approveBetweenStages: true })],
    });
    await waitFor(
      'readiness passed, migration awaiting approval',
      async () => {
        const s = await handle.query(statusQuery).catch(() => undefined);
        return s?.stages[1].state === 'awaiting-approval' ? s : undefined;
      },
      60_000,
      250,
    );
    await killWorker(first.child);
    expect(await rows(schema)).toBe(0);
    await stack.restartServer();

    const second = stack.spawnWorkerProcess(configPath, env);
    await handle.signal(approveSignal, { by: 'alice' });
    await waitFor(
      'rollout awaiting approval',
      async () => {
        const s = await handle.query(statusQuery).catch(() => undefined);
        return s?.stages[2].state === 'awaiting-approval' ? s : undefined;
      },
      90_000,
      250,
    );
    expect(await rows(schema)).toBe(migratable(600));
    // The go-live's status with each child's own: the migration child answers its phase.
    const shown = await stack.cli(['status', 'go-live-cart', '--children']);
    expect(shown.code).toBe(0);
    const withChildren = JSON.parse(shown.stdout);
    expect(withChildren.stages.map((s: { stage: string; state: string }) => [s.stage, s.state])).toEqual([
      ['readiness', 'succeeded'],
      ['dataMigration', 'succeeded'],
      ['phasedRollout', 'awaiting-approval'],
    ]);
    expect(withChildren.stages[0].child).toMatchObject({ service: 'cart', ready: true });
    expect(withChildren.stages[1].child).toMatchObject({ name: 'golive-cart' });
    expect(withChildren.stages[2].child).toBeUndefined();
    await handle.signal(approveSignal, { by: 'alice' });
    const result = (await handle.result()) as GoLiveResult;
    await killWorker(second.child);
    expect(result.status.phase).toBe('live');
    expect(result.status.stages.map((s) => s.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(result.report).toContain('# Go-live of cart: LIVE');
    expect(await weight('green')).toBe(100);
    recordHistory(stack.temporalAddress(), 'go-live-cart', 'go-live-worker-killed');
  });

  test("HAProxy's Runtime API refuses connections for a burst as the rollout stage begins: the child retries, the go-live goes live, one weight change per step", async () => {
    const schema = await pg.schema();
    await seedRunbookTables(pg, schema, 300);
    await green.setStatus(200);
    await resetLb();
    const worker = stack.spawnWorkerProcess(configPath, env);
    const handle = await stack.client.workflow.start('goLiveWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'go-live-burst',
      args: [input('burst', schema, { approveBetweenStages: true })],
    });
    const awaiting = (stage: number) =>
      waitFor(
        `stage ${stage + 1} awaiting approval`,
        async () => {
          const s = await handle.query(statusQuery).catch(() => undefined);
          return s?.stages[stage].state === 'awaiting-approval' ? s : undefined;
        },
        90_000,
        250,
      );
    await awaiting(1);
    await handle.signal(approveSignal, { by: 'alice' });
    await awaiting(2);
    const restore = haproxy.refuseRuntimeApi();
    try {
      await handle.signal(approveSignal, { by: 'alice' });
      // Held until the rollout child's LB step has been refused twice (however slow the machine).
      const pending = await waitFor(
        "the rollout's LB step retried",
        async () =>
          ((await stack.client.workflow.getHandle('rollout-burst').describe()).raw.pendingActivities ?? []).find(
            (a) => (a.attempt ?? 1) >= 3,
          ),
        90_000,
        100,
      );
      expect(await stack.failureMessage(pending.lastFailure)).toMatch(/ECONNREFUSED/);
      expect(await rows(schema)).toBe(migratable(300));
    } finally {
      restore();
    }
    const result = (await handle.result()) as GoLiveResult;
    const rollout = await stack.client.workflow.getHandle('rollout-burst').query(rolloutStatusQuery);
    await killWorker(worker.child);
    expect(result.status.phase).toBe('live');
    expect(result.status.stages.map((s) => s.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(await weight('green')).toBe(100);
    expect(await rows(schema)).toBe(migratable(300));
    expect(rollout.decisions.map((d) => d.decision).filter((d) => /reads back \d+ % for green/.test(d))).toEqual([
      expect.stringMatching(/reads back 50 % for green/),
      expect.stringMatching(/reads back 100 % for green/),
    ]);
  });

  test('an abort during the rollout reaches the child, which rolls back; the run stops there and keeps the migration', async () => {
    const schema = await pg.schema();
    await seedRunbookTables(pg, schema, 400);
    await green.setStatus(200);
    await resetLb();
    const worker = stack.spawnWorkerProcess(configPath, env);
    const slow = input('pay', schema);
    (slow.stages.phasedRollout as { steps: unknown[] }).steps = [
      { weight: 50, window: '60s' },
      { weight: 100, window: '2s' },
    ];
    const handle = await stack.client.workflow.start('goLiveWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'go-live-pay',
      args: [slow],
    });
    await waitFor(
      'green at 50 % behind HAProxy',
      async () => ((await weight('green').catch(() => 0)) > 0 ? true : undefined),
      90_000,
      250,
    );
    await handle.signal(abortSignal, { by: 'bob', reason: 'checkout errors in the new build' });
    const err = await handle.result().catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause.message).toMatch(/^go-live of pay stopped at phasedRollout: .*aborted by bob/);
    expect(err.cause.message).toContain(`Stays in place: data migration golive-pay: ${migratable(400)} rows copied`);
    expect(await weight('green')).toBe(0);
    expect(await rows(schema)).toBe(migratable(400));
    const status = await handle.query(statusQuery);
    expect(status.decisions).toContain('abort passed on to phasedRollout (rollout-pay)');
    await killWorker(worker.child);
  });

  test('readiness NOT READY stops the go-live before anything changes', async () => {
    const schema = await pg.schema();
    await seedRunbookTables(pg, schema, 100);
    const worker = stack.spawnWorkerProcess(configPath, env);
    const blocked = input('blocked', schema, {});
    blocked.stages.readiness = { checklist: 'blocked', deadline: '2s' };
    const handle = await stack.client.workflow.start('goLiveWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'go-live-blocked',
      args: [blocked],
    });
    const err = await handle.result().catch((e) => e);
    expect(err.cause.message).toBe(
      'go-live of blocked stopped at readiness: NOT READY: lb not passed, signed or waived. Nothing was changed by an earlier stage',
    );
    const status = await handle.query(statusQuery);
    expect(status.stages.map((s) => s.state)).toEqual(['failed', 'not-run', 'not-run']);
    expect(await rows(schema)).toBe(0);
    await killWorker(worker.child);
  });
});

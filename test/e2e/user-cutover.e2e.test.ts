import { randomBytes } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import Redis from 'ioredis';
import { Stack, waitFor, writeConfig } from '../helpers/stack';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, redisConnection, requirePostgres, requireRedis } from '../helpers/services';
import { recordHistory } from '../helpers/histories';
import { HttpReceiver } from '../helpers/http-receiver';
import { CutoverGateway, trafficGenerator } from '../helpers/cutover-gateway';
import { seedUsers, userOf } from '../helpers/cutover-fixtures';
import type { CutoverStatus } from '../../src/workflows/cutover/status';
import { pauseSignal, resumeSignal, statusQuery } from '../../src/workflows/cutover/messages';

const N = 10_000;

/**
 * runbooks §3 end to end on the dev server: 10 000 users in a real PostgreSQL table, the routing hash
 * in the machine's Redis, a gateway that routes each request by that hash to an old or a new local
 * backend and counts per cohort, background traffic as the directory's users. Batch 1 (IT) moves
 * exactly its users; the new backend fails for managers, so batch 2 is restored and batches 3–4
 * never start.
 */
describe('userCutoverWorkflow end to end', () => {
  let stack: Stack;
  const pg = new PgScratch('cutover_e2e');
  const service = `portal-${randomBytes(3).toString('hex')}`;
  const key = `opsflow:routes:${service}`;
  let receiver: HttpReceiver;
  let gateway: CutoverGateway;
  const redis = new Redis({ ...redisConnection, lazyConnect: true });
  // Which batch a user belongs to, first match wins, as the cutover moves them.
  const cohortOf = (id: string) => {
    const u = userOf(Number(id));
    return u.department === 'IT'
      ? 'IT department'
      : u.role === 'manager'
        ? 'managers'
        : u.department === 'Sales'
          ? 'Sales'
          : 'everyone else';
  };
  const users = Array.from({ length: N }, (_, k) => String(k + 1));
  /** The worker's config, also handed to the CLI (which checks an input against it before starting). */
  let configPath: string;
  let complaintsTable: string;

  beforeAll(async () => {
    await Promise.all([requirePostgres(), requireRedis()]);
    await redis.connect();
    receiver = await new HttpReceiver({ honourKey: true }).start();
    gateway = new CutoverGateway(redisConnection, key, cohortOf);
    await gateway.start();
    const schema = await pg.schema();
    const table = await seedUsers(pg, schema, N);
    complaintsTable = `${schema}.complaints`;
    await pg.query(
      `CREATE TABLE ${complaintsTable} (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(), cohort text NOT NULL)`,
    );
    stack = await Stack.start();
    const config = {
      postgres: { main: pgConnection },
      redis: { cache: redisConnection },
      directories: { staff: { type: 'postgres', postgres: 'main', table, pageSize: 2_000 } },
      routers: { gateway: { type: 'redis', redis: 'cache', chunkSize: 2_000 } },
      metricSources: {
        stats: { type: 'http-stats', url: `${gateway.url}/stats`, minRequests: 5, timeoutMs: 2_000 },
        // reports complaints only
        'complaints-db': {
          type: 'postgres-count',
          postgres: 'main',
          table: complaintsTable,
          timestampColumn: 'created_at',
          cohortColumn: 'cohort',
        },
      },
      notifiers: { ops: { type: 'webhook', url: `${receiver.url}/hook` } },
      cutover: { store: { postgres: 'main', schema } },
    };
    configPath = writeConfig(config);
    await stack.startWorker(config);
  });

  afterAll(async () => {
    await stack?.stop();
    await redis.del(key).catch(() => undefined);
    redis.disconnect();
    await Promise.all([gateway?.stop(), receiver?.stop()]);
    await pg.drop();
  });

  test('batch 1 moves exactly IT; managers fail on the new system, are restored, and batches 3–4 never start', async () => {
    const traffic = trafficGenerator(gateway, users);
    const handle = await stack.client.workflow.start('userCutoverWorkflow', {
      taskQueue: 'opsflow',
      workflowId: `cutover-${service}`,
      args: [
        {
          service,
          directory: 'staff',
          router: 'gateway',
          metricSources: ['stats'],
          notify: ['ops'],
          sampleInterval: '1s',
          minGap: '1s',
          batches: [
            {
              name: 'IT department',
              cohort: { department: ['IT'] },
              startAt: '+3s',
              thresholds: { errorRatePercent: 10 },
              window: '4s',
            },
            // Due as soon as batch 1 can be done: the test's pause holds it while the split is read.
            {
              name: 'managers',
              cohort: { role: ['manager'] },
              startAt: '+10s',
              thresholds: { errorRatePercent: 5 },
              window: '6s',
            },
            {
              name: 'Sales',
              cohort: { department: ['Sales'] },
              startAt: '+30s',
              thresholds: { errorRatePercent: 3 },
              window: '4s',
            },
            {
              name: 'everyone else',
              cohort: { department: ['HR', 'Finance', 'Operations'] },
              startAt: '+45s',
              thresholds: { errorRatePercent: 2 },
              window: '4s',
            },
          ],
        },
      ],
    });
    try {
      // Batch 1 done, batch 2 not started: exactly the IT users are on the new backend.
      const status = () => handle.query(statusQuery);
      // Paused once batch 1 is under way (a pause holds the next batch, not the one running), long
      // before batch 2's start however slow the machine: reading all 10 000 routes through the
      // gateway (seconds on a loaded machine) cannot race batch 2's move.
      await waitFor(
        'batch 1 under way',
        async () => ['listing', 'routing', 'monitoring', 'moved'].includes((await status()).batches[0].state),
        60_000,
        100,
      );
      await handle.signal(pauseSignal, { by: 'e2e', reason: 'read the split after batch 1' });
      const mid = await waitFor(
        'batch 1 moved, paused before batch 2',
        async () => {
          const s = await status();
          return s.paused && s.batches[0].state === 'moved' && s.batches[1].state === 'waiting' ? s : undefined;
        },
        60_000,
        200,
      );
      expect(mid.paused).toBe(true);
      expect(mid.batches.map((b) => b.state)).toEqual(['moved', 'waiting', 'scheduled', 'scheduled']);
      const it = users.filter((id) => cohortOf(id) === 'IT department');
      expect(mid.batches[0]).toMatchObject({ members: it.length, moved: it.length });
      const served = await gateway.served(users);
      expect(users.filter((id) => served.get(id) === 'new_system').sort()).toEqual([...it].sort());
      await handle.signal(resumeSignal, { by: 'e2e' });

      // The new system fails for managers: batch 2's gate fails and its users go back.
      gateway.failNewFor = (id) => userOf(Number(id)).role === 'manager';
      const err = await handle.result().then(
        () => undefined,
        (e) => e,
      );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(err.cause.message).toMatch(
        /rolled back|stopped at batch 2\/4 "managers": errorRatePercent \d+(\.\d+)? > 5 .* restored \d+ users of managers/,
      );
    } finally {
      await traffic.stop();
    }
    const after = await gateway.served(users);
    const it = users.filter((id) => cohortOf(id) === 'IT department');
    expect(users.filter((id) => after.get(id) === 'new_system').sort()).toEqual([...it].sort());
    expect(await redis.hlen(key)).toBe(it.length);
    const final = await handle.query(statusQuery);
    expect(final.batches.map((b) => b.state)).toEqual(['moved', 'rolled-back', 'not-started', 'not-started']);
    const managers = users.filter((id) => cohortOf(id) === 'managers').length;
    expect(final.batches[1]).toMatchObject({
      members: managers,
      listed: users.filter((id) => userOf(Number(id)).role === 'manager').length,
      restored: managers,
    });
    const sent = receiver.requests.map((r) => r.json as { title: string; details: Record<string, unknown> });
    expect(sent).toHaveLength(1);
    expect(sent[0].title).toMatch(/rolled back at batch 2 "managers"/);
    expect(sent[0].details).toMatchObject({ batch: 'managers', metric: 'errorRatePercent' });
    expect(sent[0].details.value as number).toBeGreaterThan(5);
    recordHistory(stack.temporalAddress(), `cutover-${service}`, 'user-cutover-batch2-paused-rolled-back');
  });

  const itUsers = () => users.filter((id) => userOf(Number(id)).department === 'IT');
  const exists = (workflowId: string) =>
    stack.client.workflow
      .getHandle(workflowId)
      .describe()
      .then(
        () => true,
        () => false,
      );
  const itBatch = (thresholds: object) => ({
    name: 'IT department',
    cohort: { department: ['IT'] },
    startAt: '+2s',
    thresholds,
    window: '3s',
  });

  test('opsflow start refuses a gate metric no source reports, naming the metric and the batch, and starts nothing', async () => {
    const svc = `${service}-refused`;
    const input = {
      service: svc,
      directory: 'staff',
      router: 'gateway',
      metricSources: ['complaints-db'],
      sampleInterval: '1s',
      minGap: '1s',
      batches: [itBatch({ errorRatePercent: 5, complaints: 3 })],
    };
    const out = await stack.cli(['--config', configPath, 'start', 'user-cutover', '--input', JSON.stringify(input)]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(
      `batches.0.thresholds.errorRatePercent: "errorRatePercent" is not reported by metricSources complaints-db (batch "IT department" is gated on it) in ${configPath} (known: complaints)`,
    );
    expect(out.stderr).not.toContain('thresholds.complaints');
    expect(await exists(`cutover-${svc}`)).toBe(false);
  });

  test('a complaints-only cutover (postgres-count) started through the CLI runs end to end, judged on complaints alone', async () => {
    const svc = `${service}-complaints`;
    const input = {
      service: svc,
      directory: 'staff',
      router: 'gateway',
      metricSources: ['complaints-db'],
      sampleInterval: '1s',
      minGap: '1s',
      batches: [itBatch({ complaints: 3 })],
    };
    const out = await stack.cli(['--config', configPath, 'start', 'user-cutover', '--input', JSON.stringify(input)]);
    expect(out.code).toBe(0);
    const handle = stack.client.workflow.getHandle(`cutover-${svc}`);
    const result = (await handle.result()) as CutoverStatus;
    expect(result.state).toBe('completed');
    const it = itUsers();
    expect(result.batches[0]).toMatchObject({ state: 'moved', members: it.length, moved: it.length });
    const routes = await redis.hgetall(`opsflow:routes:${svc}`);
    expect(Object.keys(routes).sort()).toEqual([...it].sort());
    // every sample passed on the count (0 complaints), nothing else was judged
    expect(result.lastSamples.length).toBeGreaterThan(0);
    expect(result.lastSamples.every((s) => s.summary === 'pass')).toBe(true);
    expect(result.decisions.map((d) => d.text).join('\n')).toMatch(/no metric source reports responseTimeMs/);
    await redis.del(`opsflow:routes:${svc}`);
  });

  test('opsflow reschedule and skip through the CLI: an unknown batch or a moved one refused with why, a future batch rescheduled then skipped, its users never routed', async () => {
    const svc = `${service}-verbs`;
    const id = `cutover-${svc}`;
    const routesKey = `opsflow:routes:${svc}`;
    const cli = (args: string[]) => stack.cli(['--config', configPath, ...args]);
    const statusJson = async () => {
      const out = await cli(['status', id, '--json']);
      expect(out).toMatchObject({ code: 0 });
      return JSON.parse(out.stdout) as CutoverStatus;
    };
    const input = {
      service: svc,
      directory: 'staff',
      router: 'gateway',
      // judged on complaints alone (none are filed): no traffic needed for the batch to pass
      metricSources: ['complaints-db'],
      sampleInterval: '1s',
      minGap: '1s',
      batches: [
        itBatch({ complaints: 3 }),
        // an hour away: it waits while the verbs act on it
        {
          name: 'Sales',
          cohort: { department: ['Sales'] },
          startAt: '+1h',
          thresholds: { complaints: 3 },
          window: '3s',
        },
      ],
    };
    expect(await cli(['start', 'user-cutover', '--input', JSON.stringify(input)])).toMatchObject({ code: 0 });
    const handle = stack.client.workflow.getHandle(id);
    try {
      await waitFor(
        'batch 1 moved, batch 2 waiting for its start',
        async () => {
          const st = await handle.query(statusQuery).catch(() => undefined);
          return st?.batches[0].state === 'moved' && st.batches[1].state === 'waiting' ? st : undefined;
        },
        120_000,
        250,
      );

      expect(await cli(['reschedule', id, '--batch', 'Marketing', '--start-at', '+2h'])).toMatchObject({
        code: 1,
        stdout: 'refused: reschedule refused: no batch named "Marketing" (batches: IT department, Sales)\n',
      });
      // whole seconds, so the ISO time the run keeps is the one sent
      const newStart = new Date(Math.ceil((Date.now() + 2 * 3_600_000) / 1000) * 1000).toISOString();
      const rescheduled = await cli(['reschedule', id, '--batch', '2', '--start-at', newStart, '--by', 'alice']);
      expect(rescheduled).toMatchObject({ code: 0 });
      expect(rescheduled.stdout).toMatch(new RegExp(`^accepted: userCutoverWorkflow ${id} is now waiting`));
      const after = await waitFor(
        'the new start as the next start',
        async () => {
          const st = await statusJson();
          return st.nextStartAt === newStart ? st : undefined;
        },
        60_000,
        250,
      );
      expect(after.batches[1]).toMatchObject({ state: 'waiting', startAt: newStart });
      expect(after.decisions.map((d) => d.text)).toContain(`batch 2/2 "Sales" rescheduled to ${newStart} by alice`);

      expect(await cli(['skip', id, '--batch', '1'])).toMatchObject({
        code: 1,
        stdout: 'refused: skip of batch 1/2 "IT department" refused: it is moved\n',
      });
      const skipped = await cli(['skip', id, '--batch', 'sales', '--by', 'bob']);
      expect(skipped).toMatchObject({ code: 0 });
      expect(skipped.stdout).toMatch(new RegExp(`^accepted: userCutoverWorkflow ${id} is now `));

      const result = (await handle.result()) as CutoverStatus;
      expect(result.state).toBe('completed');
      expect(result.batches.map((b) => b.state)).toEqual(['moved', 'skipped']);
      expect(result.batches[1].members ?? 0).toBe(0);
      expect(result.decisions.map((d) => d.text)).toContain('batch 2/2 "Sales" skipped by bob');
      // only IT was ever routed: no Sales user is in the hash
      const routes = await redis.hgetall(routesKey);
      expect(Object.keys(routes).sort()).toEqual([...itUsers()].sort());
    } finally {
      await handle.terminate('test ended').catch(() => undefined);
      await redis.del(routesKey);
    }
  });

  test("complaints the stats endpoint reports for the batch's cohort, above its threshold, roll the batch back", async () => {
    const svc = `${service}-stats-complaints`;
    gateway.complaints.set('IT department', 4);
    try {
      const handle = await stack.client.workflow.start('userCutoverWorkflow', {
        taskQueue: 'opsflow',
        workflowId: `cutover-${svc}`,
        args: [
          {
            service: svc,
            directory: 'staff',
            router: 'gateway',
            metricSources: ['stats'],
            sampleInterval: '1s',
            minGap: '1s',
            batches: [itBatch({ complaints: 3 })],
          },
        ],
      });
      // The batch's first conclusive outcome: rolled back on complaints (held or moved would say the count was not read).
      const settled = await waitFor(
        'batch 1 rolled back, held or moved',
        async () => {
          const st = await handle.query(statusQuery);
          return ['rolled-back', 'held', 'moved', 'failed'].includes(st.batches[0].state) ? st : undefined;
        },
        60_000,
      );
      if (settled.batches[0].state !== 'rolled-back') await handle.terminate('the batch was not rolled back');
      expect(settled.batches[0]).toMatchObject({ state: 'rolled-back', restored: itUsers().length });
      const err = await handle.result().then(
        () => undefined,
        (e) => e,
      );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(err.cause.message).toMatch(
        /stopped at batch 1\/1 "IT department": .*complaints 4 complaints > 3 complaints \(stats\).*restored \d+ users of IT department/,
      );
      expect(await redis.hlen(`opsflow:routes:${svc}`)).toBe(0);
      // the stats were asked for the batch by its name
      expect(gateway.statsAsked).toContain('IT department');
    } finally {
      gateway.complaints.clear();
      await redis.del(`opsflow:routes:${svc}`);
    }
  });
});

import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { Client as PgClient } from 'pg';
import { Stack, waitFor, writeConfig, killWorker } from '../helpers/stack';
import { HttpReceiver, type ReceivedRequest } from '../helpers/http-receiver';
import { SmtpReceiver } from '../helpers/smtp-receiver';
import { BaselineApp } from '../helpers/baseline-app';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, requirePostgres } from '../helpers/services';
import { blueGreenBehindHaproxy } from '../helpers/haproxy';
import { RuntimeApiRecorder } from '../helpers/runtime-api-recorder';
import { migratable, migrationConfig, seedRunbookTables } from '../helpers/migration-fixtures';
import { dumpWaiting, holdDumps, seedBackupDatabase } from '../helpers/backup-fixtures';
import { dailyReportConfig, journalctlStandIn } from '../helpers/report-fixtures';
import { goLiveConfig, goLiveInput } from '../helpers/go-live-fixtures';
import { HEARTBEAT_TIMEOUT, retriedAttempts } from '../helpers/retries';
import type { BackupResult } from '../../src/domain/backup/report';
import type { BaselineResult } from '../../src/workflows/baseline/workflow';
import type { ReadinessResult } from '../../src/workflows/readiness/workflow';
import type { GoLiveResult } from '../../src/workflows/go-live/workflow';
import { dailyReportWorkflow, diagnosticsWorkflow } from '../../src/workflows';
import * as readinessMessages from '../../src/workflows/readiness/messages';
import * as goLiveMessages from '../../src/workflows/go-live/messages';

const BACKUP_ROWS = 20_000;
const GO_LIVE_ROWS = 400;
const TICKS = 30;

/**
 * Three worker processes on one task queue run a backup, a performance baseline, a readiness gate,
 * a go-live, the daily report and diagnostics at once. With every run in its middle (the backup's
 * pg_dump held by a lock the test takes, the baseline sampling, the gate waiting for a sign-off,
 * the go-live waiting for approval of its migration, the report's journal read held) the worker
 * running the backup's dump is SIGKILLed with its process group; the two left finish every run,
 * and each effect happened once on the real system: one backup set of finished, verified files,
 * every baseline tick sampled and stored once, the gate's check and its report once, the go-live's
 * rows copied once and one HAProxy change per rollout step, the daily report mailed and stored
 * once, diagnostics' parts each collected once.
 */
describe('three workers, six kinds of operations run, the worker holding the backup SIGKILLed', () => {
  jest.setTimeout(240_000);
  let stack: Stack;
  const pg = new PgScratch('multi_worker_ops');
  const root = mkdtempSync(join(tmpdir(), 'opsflow-multi-worker-ops-'));
  const dest = join(root, 'backups');
  const journalGate = join(root, 'journal-go');
  const journalctl = journalctlStandIn(root, { gate: journalGate });
  const app = new BaselineApp([5]);
  const ops = new HttpReceiver({ honourKey: true });
  const smtp = new SmtpReceiver();
  let lbApi: RuntimeApiRecorder;
  let edge: Awaited<ReturnType<typeof blueGreenBehindHaproxy>>;
  /** The readiness gate's port: it counts the connections its check makes. */
  let gatePort: Server;
  let gateChecks = 0;
  let configPath: string;
  let dumped: string;
  let storeSchema: string;
  let goLiveSchema: string;
  let locker: PgClient | undefined;

  beforeAll(async () => {
    await requirePostgres();
    // one after another: PgScratch opens a database's client on first use, and two at once would open two
    dumped = await seedBackupDatabase(pg, BACKUP_ROWS);
    storeSchema = await pg.schema();
    goLiveSchema = await pg.schema();
    await seedRunbookTables(pg, goLiveSchema, GO_LIVE_ROWS);
    gatePort = createServer((s) => (gateChecks++, s.end()));
    await new Promise<void>((r) => gatePort.listen(0, '127.0.0.1', r));
    await Promise.all([app.start(), ops.start(), smtp.start()]);
    stack = await Stack.start();
    edge = await blueGreenBehindHaproxy(stack.processes);
    lbApi = await new RuntimeApiRecorder(edge.haproxy.apiPort).start();
    const goLive = goLiveConfig({ host: '127.0.0.1', port: lbApi.port }, edge.haproxy.url);
    const report = dailyReportConfig({
      journalctl: journalctl.path,
      smtpPort: smtp.port,
      target: 'app',
      schema: storeSchema,
    });
    configPath = writeConfig({
      postgres: { ...migrationConfig().postgres, dumped: { ...pgConnection, database: dumped } },
      http: { app: { url: app.url } },
      ...goLive,
      readiness: {
        checklists: {
          ...goLive.readiness.checklists,
          api: {
            items: [
              { id: 'port', check: 'tcp', host: '127.0.0.1', open: [(gatePort.address() as { port: number }).port] },
              { id: 'rota', check: 'signOff', description: 'on-call rota published' },
            ],
          },
        },
      },
      baseline: { store: { postgres: 'app', schema: storeSchema } },
      backups: { nightly: { databases: ['dumped'], destination: dest, notify: ['ops'] } },
      notifiers: { ...report.notifiers, ops: { type: 'webhook', url: `${ops.url}/hook` } },
      dailyReport: report.dailyReport,
    });
  }, 180_000);

  afterAll(async () => {
    writeFileSync(journalGate, 'go\n');
    await locker?.query('ROLLBACK').catch(() => undefined);
    await stack?.stop();
    await Promise.all([lbApi?.stop(), edge?.haproxy.stop(), app.stop(), ops.stop(), smtp.stop()]);
    await new Promise((r) => (gatePort ? gatePort.close(r) : r(undefined)));
    await pg.drop();
  }, 60_000);

  /** The workflow each message at the receiver was sent for (its idempotency key is `<workflow>/<run>/<event>/<notifier>`). */
  const senders = (reqs: ReceivedRequest[]) =>
    reqs.map((r) => String(r.headers['idempotency-key'] ?? '').split('/')[0]);
  /** How many times each activity type of the run was scheduled and completed: a retry is neither. */
  const activityCounts = async (handle: WorkflowHandle) => {
    const events = (await handle.fetchHistory()).events ?? [];
    const type = new Map<string, string>();
    const counts: Record<string, { scheduled: number; completed: number }> = {};
    for (const e of events) {
      const s = e.activityTaskScheduledEventAttributes;
      const c = e.activityTaskCompletedEventAttributes;
      if (s) type.set(String(e.eventId), s.activityType?.name ?? '');
      const name = s ? type.get(String(e.eventId))! : c ? type.get(String(c.scheduledEventId))! : undefined;
      if (!name) continue;
      counts[name] ??= { scheduled: 0, completed: 0 };
      counts[name][s ? 'scheduled' : 'completed']++;
    }
    return counts;
  };

  test('backup, baseline, readiness, go-live, daily report and diagnostics at once; the worker holding the dump dies; every effect once', async () => {
    const workers = [0, 1, 2].map(() => stack.spawnWorkerProcess(configPath));
    locker = await holdDumps(pg, dumped);
    const start = (type: string, workflowId: string, input: unknown) =>
      stack.client.workflow.start(type, { taskQueue: 'opsflow', workflowId, args: [input] });
    const [backup, baseline, readiness, goLive, report, diagnostics] = await Promise.all([
      start('backupWorkflow', 'multi-worker-backup', { set: 'nightly' }),
      start('performanceBaselineWorkflow', 'multi-worker-baseline', {
        service: 'app',
        groups: { host: false, http: ['app'] },
        duration: `${TICKS}s`,
        interval: '1s',
        requestsPerSample: 1,
      }),
      start('readinessCheckWorkflow', 'multi-worker-readiness', {
        service: 'api',
        checklist: 'api',
        deadline: '5m',
        notify: ['ops'],
      }),
      start('goLiveWorkflow', 'go-live-shop', goLiveInput('shop', goLiveSchema, { approveBetweenStages: true })),
      stack.client.workflow.start(dailyReportWorkflow, {
        taskQueue: 'opsflow',
        workflowId: 'multi-worker-report',
        args: [{}],
      }),
      stack.client.workflow.start(diagnosticsWorkflow, {
        taskQueue: 'opsflow',
        workflowId: 'multi-worker-diagnostics',
        args: [{ postgres: 'app', host: true }],
      }),
    ]);
    const runs: Record<string, WorkflowHandle> = { backup, baseline, readiness, goLive, report, diagnostics };
    /** A wait that says, when it runs out, where each run is and what the workers said. */
    const explained = async <T>(waiting: Promise<T>): Promise<T> =>
      waiting.catch(async (err: Error) => {
        const where = await Promise.all(
          Object.entries(runs).map(async ([kind, h]) => {
            const d = await h.describe().catch(() => undefined);
            const pending = (d?.raw.pendingActivities ?? []).map(
              (a) => `${a.activityType?.name} #${a.attempt} on ${a.lastWorkerIdentity}`,
            );
            return `${kind}: ${d?.status.name} ${pending.join(', ')}`;
          }),
        );
        const said = workers.map((w) => w.output().slice(-2000)).join('\n---\n');
        throw new Error(`${err.message}\n${where.join('\n')}\nworkers:\n${said}`);
      });
    const runKey = `${baseline.workflowId}/${baseline.firstExecutionRunId}`;
    const ticks = () =>
      pg.query<{ seq: number }>(`SELECT seq FROM ${storeSchema}.baseline_samples WHERE run_key = $1 ORDER BY seq`, [
        runKey,
      ]);

    // Every run in its middle.
    await explained(
      Promise.all([
        waitFor(
          'the gate waiting for its sign-off',
          async () =>
            (await readiness.query(readinessMessages.statusQuery).catch(() => undefined))?.phase === 'waiting' ||
            undefined,
          120_000,
          250,
        ),
        waitFor(
          'the go-live awaiting approval of its migration',
          async () =>
            (await goLive.query(goLiveMessages.statusQuery).catch(() => undefined))?.stages[1].state ===
              'awaiting-approval' || undefined,
          120_000,
          250,
        ),
        waitFor('the journal being read', () => journalctl.calls() > 0, 120_000, 100),
        waitFor(
          '2 baseline ticks stored',
          async () => (await ticks().catch(() => [])).length >= 2 || undefined,
          120_000,
          200,
        ),
        waitFor(
          'pg_dump waiting on the lock',
          () => dumpWaiting(pg, 'db-dumped.dump').then((w) => w || undefined),
          120_000,
          200,
        ),
      ]),
    );
    // The victim: the worker whose identity (`<pid>@<host>`) the dump's started attempt bears.
    const pid = await explained(
      waitFor(
        'the worker running the dump',
        async () => {
          const pending = (await backup.describe()).raw.pendingActivities ?? [];
          return pending
            .filter((a) => a.activityType?.name === 'backupDatabase' && Number(a.state) === 2) // STARTED
            .map((a) => Number(String(a.lastWorkerIdentity ?? '').split('@')[0]))
            .find((p) => p > 0);
        },
        60_000,
        100,
      ),
    );
    const victim = workers.find((w) => w.child.pid === pid)!;
    expect(victim).toBeDefined();
    await killWorker(victim.child);

    // The held work goes on; the operators act while one worker is dead.
    await locker.query('COMMIT');
    writeFileSync(journalGate, 'go\n');
    await readiness.executeUpdate(readinessMessages.signOffUpdate, { args: [{ item: 'rota', by: 'alice' }] });
    await goLive.signal(goLiveMessages.approveSignal, { by: 'alice' });
    await explained(
      waitFor(
        'the go-live awaiting approval of its rollout',
        async () =>
          (await goLive.query(goLiveMessages.statusQuery)).stages[2].state === 'awaiting-approval' || undefined,
        120_000,
        250,
      ),
    );
    await goLive.signal(goLiveMessages.approveSignal, { by: 'alice' });

    const [backedUp, sampled, gated, live, reported, diagnosed] = await explained(
      Promise.all([
        backup.result() as Promise<BackupResult>,
        baseline.result() as Promise<BaselineResult>,
        readiness.result() as Promise<ReadinessResult>,
        goLive.result() as Promise<GoLiveResult>,
        report.result(),
        diagnostics.result(),
      ]),
    );
    for (const w of workers) if (w !== victim) expect(w.child.exitCode).toBeNull();
    // the dead worker's dump was taken over after its heartbeat timeout
    expect(
      (await retriedAttempts(backup)).filter((a) => a.activityType === 'backupDatabase').map((a) => a.timeoutType),
    ).toEqual([HEARTBEAT_TIMEOUT]);

    // backup: one set, its dump finished and verified, nothing of the killed attempt beside it; one drill; one report
    expect(readdirSync(dest)).toHaveLength(1);
    const copyDir = join(dest, readdirSync(dest)[0]);
    expect(readdirSync(copyDir).sort()).toEqual([
      'db-dumped.dump',
      'db-dumped.dump.manifest.json',
      'db-dumped.dump.sha256-cache.json',
      'db-dumped.dump.verified.json',
    ]);
    expect(
      createHash('sha256')
        .update(readFileSync(join(copyDir, 'db-dumped.dump')))
        .digest('hex'),
    ).toBe(backedUp.artifacts[0].sha256);
    expect(backedUp.drill).toBe('passed');
    expect(backedUp.drills).toEqual([expect.objectContaining({ database: 'dumped', tables: 1, rows: BACKUP_ROWS })]);
    expect((await activityCounts(backup)).drillDatabase).toEqual({ scheduled: 1, completed: 1 });

    // baseline: every tick sampled and stored once (a tick whose time passed while its worker was dead is missed)
    const stored = (await ticks()).map((t) => t.seq);
    expect(new Set(stored).size).toBe(stored.length);
    expect(stored.every((seq) => seq < TICKS)).toBe(true);
    expect(sampled.baseline.groups[0].samples).toBe(stored.length);
    expect(app.served.length).toBeGreaterThanOrEqual(stored.length);
    expect(app.served.length).toBeLessThanOrEqual(stored.length + 1); // the one in flight at the kill
    expect(sampled.baseline.complete).toBe(true);

    // readiness: the port checked once (the first round's evidence kept), READY, its report once
    expect(gated.ready).toBe(true);
    expect(gated.status.rounds).toBe(1);
    expect(gateChecks).toBe(1);

    // go-live: live; rows copied and flagged once; one HAProxy weight change per rollout step
    expect(live.status.phase).toBe('live');
    expect(live.status.stages.map((s) => s.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(await pg.count(`SELECT count(*) FROM ${goLiveSchema}.new_users`)).toBe(migratable(GO_LIVE_ROWS));
    expect(await pg.count(`SELECT count(*) FROM ${goLiveSchema}.old_users WHERE migrate_flag = 1`)).toBe(
      migratable(GO_LIVE_ROWS),
    );
    expect(lbApi.changes().filter((c) => / weight \d+$/.test(c))).toEqual([
      'green weight 50',
      'blue weight 50',
      'green weight 100',
      'blue weight 0',
    ]);

    // daily report: mailed once, stored once
    expect(reported).toMatchObject({ stored: true, sent: ['mail'] });
    expect(smtp.messages).toHaveLength(1);
    expect(JSON.stringify(smtp.messages[0])).toContain('upstream connect error');
    expect(await pg.count(`SELECT count(*) FROM ${storeSchema}.opsflow_daily_reports`)).toBe(1);

    // diagnostics: the whole findings, each part collected once
    expect(diagnosed.postgres).toMatchObject({ target: 'app', ok: true });
    expect(diagnosed.host).toMatchObject({ ok: true });
    const parts = await activityCounts(diagnostics);
    expect(Object.values(parts).map((p) => p.completed)).toEqual([1, 1]);

    // the backup's and the gate's reports: each once at the receiver
    expect(senders(ops.accepted).sort()).toEqual([backup.workflowId, readiness.workflowId]);

    for (const w of workers) await killWorker(w.child);
  });
});

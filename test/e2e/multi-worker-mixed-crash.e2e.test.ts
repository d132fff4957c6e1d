import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import Redis from 'ioredis';
import { request } from 'undici';
import { Stack, waitFor, writeConfig, killWorker } from '../helpers/stack';
import { HttpReceiver, type ReceivedRequest } from '../helpers/http-receiver';
import { freePort } from '../helpers/ports';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, redisConnection, requirePostgres, requireRedis } from '../helpers/services';
import { blueGreenBehindHaproxy, Haproxy } from '../helpers/haproxy';
import { RuntimeApiRecorder } from '../helpers/runtime-api-recorder';
import { idsWhere, seedUsers } from '../helpers/cutover-fixtures';
import { makeAppRepo } from '../helpers/deploy-fixture';
import { SystemdStandin } from '../helpers/systemd-standin';
import {
  createNewUsers,
  migratable,
  migrationConfig,
  runbookInput,
  seedOldUsers,
  slowDownTarget,
} from '../helpers/migration-fixtures';
import { HEARTBEAT_TIMEOUT, retriedAttempts } from '../helpers/retries';
import { rolloutWorkflowId } from '../../src/domain/rollout/input';
import { cutoverWorkflowId } from '../../src/domain/cutover/input';
import { deployWorkflowId } from '../../src/domain/deploy/input';
import type { MigrationResult } from '../../src/workflows/migration/workflow';
import type { IncidentStatus } from '../../src/workflows/incident';
import type { CutoverStatus } from '../../src/workflows/cutover/status';
import type { DeployStatus } from '../../src/workflows/deploy/status';
import * as incidentMessages from '../../src/workflows/incident/messages';
import * as rolloutMessages from '../../src/workflows/rollout/messages';
import * as cutoverMessages from '../../src/workflows/cutover/messages';

const ROWS = 4_000;
const CHUNKS = 20;
const USERS = 700;
const HOSTS = ['h1', 'h2'] as const;
type Host = (typeof HOSTS)[number];

/**
 * Three worker processes on one task queue run a phased rollout (behind HAProxy), a user cutover
 * (Redis router), a data migration (PostgreSQL), a deploy (stand-in systemd hosts behind a second
 * HAProxy) and an incident at once. Mid-run the worker holding the deploy's build (held by its
 * install step until the test lets it go) is SIGKILLed; then the worker holding a migration chunk
 * (held by a lock the test takes on the target table) is sent SIGTERM alone, as Kubernetes and
 * Docker do: it stops polling, finishes that chunk within its shutdown grace once the lock is gone
 * and exits 0, and the third worker finishes everything. Every run ends as it should, and each
 * effect happened once on the real system: each HAProxy weight and state change sent once, each
 * user written to Redis once, each row copied and flagged once, each host restarted once, one
 * message per event at the receivers.
 */
describe('three workers, five kinds of run, one worker SIGKILLed and one stopped gracefully', () => {
  jest.setTimeout(240_000);
  let stack: Stack;
  const pg = new PgScratch('multi_worker_mixed');
  const systemd = new SystemdStandin();
  const root = mkdtempSync(join(tmpdir(), 'opsflow-multi-worker-'));
  const hostPath = (h: Host) => join(root, h);
  const hostPorts = {} as Record<Host, number>;
  const service = `mixed-${randomBytes(3).toString('hex')}`;
  const routesKey = `opsflow:routes:${service}`;
  const redis = new Redis({ ...redisConnection, lazyConnect: true });
  /** ioredis's MONITOR connection (a connection of its own). */
  let monitor: Redis | undefined;
  /** Every HSET on the cutover's routing hash, as Redis executed it (MONITOR shows a script's commands too). */
  const routeWrites: string[][] = [];
  const oncall = new HttpReceiver({ honourKey: true });
  const engineers = new HttpReceiver({ honourKey: true });
  const ops = new HttpReceiver({ honourKey: true });
  let rolloutApi: RuntimeApiRecorder;
  let deployApi: RuntimeApiRecorder;
  let edge: Awaited<ReturnType<typeof blueGreenBehindHaproxy>>;
  let fleetLb: Haproxy;
  let stats: Server;
  let configPath: string;
  let schema: string;
  let storeSchema: string;
  const installGate = join(root, 'install-go');
  const installStarts = join(root, 'install-starts');
  /** PostgreSQL sessions the test holds locks in: ended in afterAll, or dropping the schema would wait on them. */
  const held: PgClient[] = [];

  beforeAll(async () => {
    await Promise.all([requirePostgres(), requireRedis()]);
    await redis.connect();
    schema = await pg.schema();
    storeSchema = await pg.schema();
    await seedOldUsers(pg, schema, ROWS);
    await createNewUsers(pg, schema);
    await slowDownTarget(pg, schema, 0.25);
    const directory = await seedUsers(pg, storeSchema, USERS);
    stats = createServer((_q, r) => r.end(JSON.stringify({ errors: 0, total: 100, avgResponseMs: 5, complaints: 0 })));
    await new Promise<void>((r) => stats.listen(0, '127.0.0.1', r));
    await Promise.all([oncall.start(), engineers.start(), ops.start()]);

    stack = await Stack.start();
    edge = await blueGreenBehindHaproxy(stack.processes);
    for (const h of HOSTS) hostPorts[h] = await freePort();
    fleetLb = await new Haproxy(
      stack.processes,
      HOSTS.map((h) => ({ name: h, port: hostPorts[h], weight: 100 })),
    ).start();
    rolloutApi = await new RuntimeApiRecorder(edge.haproxy.apiPort).start();
    deployApi = await new RuntimeApiRecorder(fleetLb.apiPort).start();
    for (const h of HOSTS)
      systemd.defineUnit(`web-${h}`, [process.execPath, join(hostPath(h), 'current', 'server.js')], {
        PORT: String(hostPorts[h]),
        NAME: h,
      });
    const repo = makeAppRepo();

    monitor = await redis.monitor();
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'hset' && args[1] === routesKey) routeWrites.push(args.slice(2));
    });

    configPath = writeConfig({
      postgres: { ...migrationConfig().postgres, main: { ...pgConnection } },
      redis: { cache: redisConnection },
      loadBalancers: {
        edge: { type: 'haproxy', runtimeApi: { host: '127.0.0.1', port: rolloutApi.port }, backend: 'app' },
        fleet: { type: 'haproxy', runtimeApi: { host: '127.0.0.1', port: deployApi.port }, backend: 'app' },
      },
      metricSources: {
        'through-lb': {
          type: 'probe',
          url: `${edge.haproxy.url}/`,
          requests: 10,
          minRequests: 5,
          concurrency: 2,
          timeoutMs: 3000,
        },
        stats: {
          type: 'http-stats',
          url: `http://127.0.0.1:${(stats.address() as AddressInfo).port}/stats`,
          minRequests: 1,
        },
      },
      directories: { staff: { type: 'postgres', postgres: 'main', table: directory } },
      routers: { gateway: { type: 'redis', redis: 'cache', chunkSize: 100 } },
      cutover: { store: { postgres: 'main', schema: storeSchema } },
      systemd: { systemctl: systemd.systemctlPath },
      deploy: {
        cacheDir: join(root, 'worker-cache'),
        services: {
          web: {
            repository: repo.bare,
            path: hostPath('h1'),
            lb: 'fleet',
            commands: {
              // Held until the test opens the gate: the build is surely in flight when its worker is stopped.
              install: {
                argv: [
                  'sh',
                  '-c',
                  `echo "$PWD" >> '${installStarts}'; while [ ! -e '${installGate}' ]; do sleep 0.1; done; date +%s%N > INSTALLED`,
                ],
                timeout: '2m',
              },
            },
            hosts: Object.fromEntries(
              HOSTS.map((h) => [
                h,
                {
                  path: hostPath(h),
                  lbServer: h,
                  healthUrl: `http://127.0.0.1:${hostPorts[h]}/health`,
                  units: [`web-${h}`],
                },
              ]),
            ),
          },
        },
      },
      notifiers: {
        'oncall-hook': { type: 'webhook', url: `${oncall.url}/hook` },
        'eng-hook': { type: 'webhook', url: `${engineers.url}/hook` },
        ops: { type: 'webhook', url: `${ops.url}/hook` },
      },
      incident: {
        store: { postgres: 'main', schema: storeSchema },
        contacts: { engineers: ['eng-hook'] },
        channels: [],
        rota: {
          timezone: 'UTC',
          shifts: [
            { name: 'am', start: '00:00', end: '12:00', oncall: 'dave', notify: ['oncall-hook'] },
            { name: 'pm', start: '12:00', end: '00:00', oncall: 'erin', notify: ['oncall-hook'] },
          ],
        },
      },
    });
  }, 180_000);

  afterAll(async () => {
    writeFileSync(installGate, 'go\n');
    for (const c of held) await c.end().catch(() => undefined);
    await stack?.stop();
    systemd.stopAll();
    await Promise.all([rolloutApi?.stop(), deployApi?.stop(), fleetLb?.stop(), edge?.haproxy.stop()]);
    monitor?.disconnect();
    await redis.del(routesKey).catch(() => undefined);
    redis.disconnect();
    stats?.close();
    await Promise.all([oncall.stop(), engineers.stop(), ops.stop()]);
    await pg.drop();
  }, 60_000);

  /** The key each message was sent under (`<workflow>/<run>/<event>/<notifier>`): one per event and notifier. */
  const keys = (reqs: ReceivedRequest[]) => reqs.map((r) => String(r.headers['idempotency-key'] ?? ''));
  const events = (reqs: ReceivedRequest[]) => keys(reqs).map((k) => k.split('/')[2]);
  /** The pid of the worker that started the current attempt of the run's pending activity of this type (the SDK's identity is `<pid>@<host>`). */
  const runningOn = async (handle: WorkflowHandle, activityType: string) => {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    const pid = pending
      .filter((a) => a.activityType?.name === activityType)
      .map((a) => Number(String(a.lastWorkerIdentity ?? '').split('@')[0]))
      .find((p) => p > 0);
    return pid || undefined;
  };
  /** How the activity with this id ended: the worker that completed it and in which attempt. */
  const completion = async (handle: WorkflowHandle, activityId: string) => {
    const history = (await handle.fetchHistory()).events ?? [];
    const scheduledId = history.find((e) => e.activityTaskScheduledEventAttributes?.activityId === activityId)?.eventId;
    const started = history.filter(
      (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduledId),
    );
    const done = history.find(
      (e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduledId),
    )?.activityTaskCompletedEventAttributes;
    const by = started.find((e) => String(e.eventId) === String(done?.startedEventId));
    return done && { identity: done.identity ?? '', attempt: by?.activityTaskStartedEventAttributes?.attempt ?? 0 };
  };
  const blocked = () =>
    pg.count(
      `SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
        WHERE NOT l.granted AND c.relname = 'new_users' AND c.relnamespace = $1::regnamespace`,
      [schema],
    );
  const copied = () => pg.count(`SELECT count(*) FROM ${schema}.opsflow_migration_chunks WHERE status = 'copied'`);
  const installs = () => (existsSync(installStarts) ? readFileSync(installStarts, 'utf8').trim().split('\n') : []);

  test('rollout, cutover, migration, deploy and incident at once; SIGKILL one worker, SIGTERM another; every effect once', async () => {
    // INFO: the worker's own "state changed" lines show when the stopped one has taken its SIGTERM.
    const workers = [0, 1, 2].map(() => stack.spawnWorkerProcess(configPath, { OPSFLOW_LOG_LEVEL: 'INFO' }));
    await waitFor(
      'three workers polling',
      () => workers.every((w) => /opsflow worker: task queue opsflow/.test(w.output())),
      120_000,
      200,
    );
    // The rollout, the cutover and the deploy run under their service's id (the lock against a second run).
    const start = (type: string, workflowId: string, input: unknown) =>
      stack.client.workflow.start(type, { taskQueue: 'opsflow', workflowId, args: [input] });

    const rollout = await start('phasedRolloutWorkflow', rolloutWorkflowId('orders'), {
      service: 'orders',
      lb: 'edge',
      backends: { old: 'blue', new: 'green' },
      metricSources: ['through-lb'],
      gate: { errorRatePercent: 5 },
      sampleInterval: '1s',
      steps: [
        { weight: 20, window: '2s' },
        { weight: 100, window: '2s', approval: true },
      ],
      notify: ['ops'],
    });
    const cutover = await start('userCutoverWorkflow', cutoverWorkflowId(service), {
      service,
      directory: 'staff',
      router: 'gateway',
      metricSources: ['stats'],
      sampleInterval: '1s',
      minGap: '1s',
      batches: [
        {
          name: 'IT',
          cohort: { department: ['IT'] },
          startAt: '+1s',
          thresholds: { errorRatePercent: 5 },
          window: '2s',
        },
        {
          name: 'rest',
          cohort: 'rest',
          startAt: '+4s',
          thresholds: { errorRatePercent: 5 },
          window: '2s',
          approval: true,
        },
      ],
      notify: ['ops'],
    });
    const deploy = await start('deployWorkflow', deployWorkflowId('web'), {
      service: 'web',
      ref: 'main',
      serial: 1,
      healthCheck: { attempts: 60, interval: '250ms' },
      notify: ['ops'],
    });
    const incident = await start('incidentResponseWorkflow', `multi-worker-incident-${Date.now()}`, {
      title: 'checkout slow',
      type: 'latency',
      services: ['web-server'],
      metrics: { responseTimeMs: 6000 },
    });

    const runs: Record<string, WorkflowHandle> = { rollout, cutover, deploy, incident };
    /** A wait that says, when it runs out, where each run is (status, pending activities) and what the workers said. */
    const explained = async <T>(waiting: Promise<T>): Promise<T> => {
      try {
        return await waiting;
      } catch (err) {
        const where: Record<string, unknown> = {};
        for (const [kind, h] of Object.entries(runs)) {
          const d = await h.describe().catch(() => undefined);
          where[kind] = {
            status: d?.status.name,
            pending: (d?.raw.pendingActivities ?? []).map(
              (a) => `${a.activityType?.name} #${a.attempt} on ${a.lastWorkerIdentity} ${a.lastFailure?.message ?? ''}`,
            ),
          };
        }
        const said = workers.map((w) => w.output().slice(-3000)).join('\n---\n');
        throw new Error(`${(err as Error).message}\n${JSON.stringify(where, null, 1)}\nworkers:\n${said}`);
      }
    };

    // Every run in its middle: the rollout and the cutover wait for approval of their second step
    // (the first done), the incident opened and paged, h1's build held.
    await explained(
      waitFor(
        'the rollout awaiting approval of step 2',
        async () => (await rollout.query(rolloutMessages.statusQuery)).awaitingApproval === 2,
        120_000,
        250,
      ),
    );
    await explained(
      waitFor(
        'the cutover awaiting approval of batch 2',
        async () => (await cutover.query(cutoverMessages.statusQuery)).awaitingApproval === 2,
        120_000,
        250,
      ),
    );
    await explained(
      waitFor(
        'the incident opened and paged',
        () => oncall.accepted.length === 1 && engineers.accepted.length === 1,
        120_000,
        250,
      ),
    );
    await explained(waitFor("h1's install held", () => installs().length === 1, 120_000, 100));
    // The migration starts last, so that it is still copying (chunks copied but not all) when the rest is mid-way.
    const migration = await start(
      'dataMigrationWorkflow',
      `multi-worker-migration-${Date.now()}`,
      runbookInput('multi-worker-mixed', schema, { chunkSize: ROWS / CHUNKS, parallelism: 1 }),
    );
    runs.migration = migration;
    await explained(
      waitFor('2 chunks copied', async () => ((await copied().catch(() => 0)) >= 2 ? true : undefined), 120_000, 50),
    );
    const live = (pid: number | undefined) => workers.find((w) => w.child.pid === pid && w.child.exitCode === null);
    const pending = async (handle: WorkflowHandle, activityType: string) =>
      (await handle.describe()).raw.pendingActivities?.find((a) => a.activityType?.name === activityType);

    // SIGKILL (a crashed machine: the whole process group) the worker running h1's build, its
    // install step still running.
    const buildPid = await explained(
      waitFor("the worker running h1's build", () => runningOn(deploy, 'buildHostRelease'), 60_000, 100),
    );
    const killed = live(buildPid)!;
    expect(killed).toBeDefined();
    expect(installs()).toHaveLength((await pending(deploy, 'buildHostRelease'))!.attempt!);
    await killWorker(killed.child);
    expect(await copied()).toBeLessThan(CHUNKS);
    writeFileSync(installGate, 'go\n');
    // The operators act while one worker is dead.
    await rollout.signal(rolloutMessages.approveSignal, { by: 'night-shift' });
    await cutover.signal(cutoverMessages.approveSignal, { by: 'night-shift' });

    // A lock on new_users holds the next chunk on a live worker (taken over from the dead one,
    // after its heartbeat timeout, if that one held the migration).
    const lock = new PgClient(pgConnection);
    held.push(lock);
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query(`LOCK TABLE ${schema}.new_users IN EXCLUSIVE MODE`);
    const chunkPid = await explained(
      waitFor(
        'a chunk blocked on the lock on a live worker',
        async () => {
          const pid = await runningOn(migration, 'copyMigrationChunks');
          return live(pid) && (await blocked()) > 0 ? pid : undefined;
        },
        60_000,
        100,
      ),
    );
    const stopped = live(chunkPid)!;
    const last = workers.find((w) => w !== killed && w !== stopped)!;
    const chunk = (await pending(migration, 'copyMigrationChunks'))!;

    // SIGTERM to that worker alone, the way Kubernetes or Docker stop a container's main process:
    // it stops polling and, within its shutdown grace, finishes the chunk it holds once the lock
    // is gone (with no grace the chunk would be cancelled, rolled back and run again elsewhere).
    const exited = new Promise<number | null>((r) => stopped.child.once('close', (code) => r(code)));
    process.kill(stopped.child.pid!, 'SIGTERM');
    await explained(
      waitFor('the stopped worker draining', () => /STOPPING|DRAINING/.test(stopped.output()), 30_000, 50),
    );
    expect(stopped.child.exitCode).toBeNull();
    await lock.query('ROLLBACK');
    expect(await exited).toBe(0);
    expect(stopped.output()).toMatch(/opsflow worker: stopped/);
    expect(await completion(migration, chunk.activityId!)).toEqual({
      identity: expect.stringMatching(new RegExp(`^${chunkPid}@`)),
      attempt: chunk.attempt,
    });

    await incident.signal(incidentMessages.acknowledgeSignal, { by: 'erin' });
    await waitFor(
      'acknowledged',
      async () => (await incident.query(incidentMessages.statusQuery)).state === 'acknowledged',
      60_000,
      250,
    );
    await incident.signal(incidentMessages.resolveSignal, { by: 'erin' });

    const [rolled, cut, migrated, deployed, resolved] = await explained(
      Promise.all([
        rollout.result() as Promise<{ outcome: string }>,
        cutover.result() as Promise<CutoverStatus>,
        migration.result() as Promise<MigrationResult>,
        deploy.result() as Promise<DeployStatus>,
        incident.result() as Promise<IncidentStatus>,
      ]),
    );
    expect(last.child.exitCode).toBeNull();
    // the dead worker's build was taken over after its heartbeat timeout
    expect((await retriedAttempts(deploy)).map((a) => [a.activityType, a.timeoutType])).toEqual([
      ['buildHostRelease', HEARTBEAT_TIMEOUT],
    ]);
    // a chunk retried at all was the dead worker's, after its heartbeat timeout
    for (const r of await retriedAttempts(migration))
      expect([r.activityType, r.timeoutType]).toEqual(['copyMigrationChunks', HEARTBEAT_TIMEOUT]);

    // rollout: one weight change per step, sent once to HAProxy; green at 100 %
    expect(rolled.outcome).toBe('succeeded');
    expect(rolloutApi.changes().filter((c) => / weight \d+$/.test(c))).toEqual([
      'green weight 20',
      'blue weight 80',
      'green weight 100',
      'blue weight 0',
    ]);

    // cutover: each user written to Redis once, and routed to the new system
    expect(cut.state).toBe('completed');
    expect(cut.batches.map((b) => [b.name, b.state, b.moved])).toEqual([
      ['IT', 'moved', idsWhere(USERS, (u) => u.department === 'IT').length],
      ['rest', 'moved', USERS - idsWhere(USERS, (u) => u.department === 'IT').length],
    ]);
    expect(await redis.hlen(routesKey)).toBe(USERS);
    expect((await redis.hvals(routesKey)).every((v) => v === 'new_system')).toBe(true);
    const writes = new Map<string, number>();
    for (const args of routeWrites)
      for (let i = 0; i < args.length; i += 2) writes.set(args[i], (writes.get(args[i]) ?? 0) + 1);
    expect(writes.size).toBe(USERS);
    expect([...writes.values()].filter((n) => n !== 1)).toEqual([]);

    // migration: every row copied, flagged and counted once
    const expected = migratable(ROWS);
    expect(migrated.rowsCopied).toBe(expected);
    expect(migrated.verification).toMatchObject({ pass: true, sourceRows: expected, targetRows: expected });
    expect(await pg.count(`SELECT count(*) FROM ${schema}.new_users`)).toBe(expected);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.old_users WHERE migrate_flag = 1`)).toBe(expected);
    expect(await copied()).toBe(CHUNKS);
    expect(await pg.query(`SELECT status, rows_migrated FROM ${schema}.migration_log`)).toEqual([
      { status: 'COMPLETED', rows_migrated: expected },
    ]);

    // deploy: one release per host, each host drained, restarted and made ready once, serving v2
    expect(deployed.phase).toBe('done');
    const release = deployed.release!;
    for (const h of HOSTS) {
      expect(readdirSync(join(hostPath(h), 'releases'))).toEqual([release]);
      expect(readlinkSync(join(hostPath(h), 'current'))).toBe(`releases/${release}`);
      const body = (await (await request(`http://127.0.0.1:${hostPorts[h]}/`)).body.json()) as { version: string };
      expect(body.version).toBe('v2');
    }
    expect(systemd.calls().filter((c) => c.startsWith('restart'))).toEqual(HOSTS.map((h) => `restart -- web-${h}`));
    expect(deployApi.changes().filter((c) => / state (drain|ready|maint)$/.test(c))).toEqual(
      HOSTS.flatMap((h) => [`${h} state drain`, `${h} state ready`]),
    );

    // incident: each event delivered once to each receiver; one record
    expect(resolved).toMatchObject({ severity: 'P2', state: 'resolved', postmortemStored: true });
    expect(events(oncall.accepted)).toEqual(['opened', 'resolved']);
    expect(events(engineers.accepted)).toEqual(['opened', 'resolved']);
    expect(
      await pg.count(`SELECT count(*) FROM ${storeSchema}.incidents WHERE workflow_id = $1`, [incident.workflowId]),
    ).toBe(1);
    // the rollout's, cutover's and deploy's own messages (their ends): each once
    expect(
      keys(ops.accepted)
        .map((k) => `${k.split('/')[0]} ${k.split('/')[2]}`)
        .sort(),
    ).toEqual([`${cutover.workflowId} completed`, `${deploy.workflowId} done`, `${rollout.workflowId} go-live`].sort());

    for (const w of workers) await killWorker(w.child);
  });
});

import { createServer, type Server, type ServerResponse } from 'node:http';
import type { ChildProcess } from 'node:child_process';
import type { WorkflowHandle } from '@temporalio/client';
import { Stack, waitFor, writeConfig, killWorker } from '../helpers/stack';
import { HttpReceiver, type ReceivedRequest } from '../helpers/http-receiver';
import { freePort } from '../helpers/ports';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, requirePostgres } from '../helpers/services';
import {
  createNewUsers,
  migratable,
  migrationConfig,
  runbookInput,
  seedOldUsers,
  slowDownTarget,
} from '../helpers/migration-fixtures';
import { retriedAttempts } from '../helpers/retries';
import type { MigrationResult } from '../../src/workflows/migration/workflow';
import type { HealthCheckResult } from '../../src/workflows/health/workflow';
import type { IncidentStatus } from '../../src/workflows/incident';
import { acknowledgeSignal, resolveSignal, statusQuery } from '../../src/workflows/incident/messages';

const ROWS = 20_000;
const CHUNKS = 40;

/**
 * Three worker processes on one task queue run a data migration, an incident and a health check
 * at once; the worker that holds a migration chunk is SIGKILLed while all three runs are in the
 * middle. The two left finish every run, and every effect happens once: each row copied and
 * flagged once, each incident event delivered once per receiver, one health alert.
 */
describe('three workers on one task queue, one SIGKILLed mid-run', () => {
  jest.setTimeout(300_000);
  let stack: Stack;
  const pg = new PgScratch('multi_worker_crash');
  const oncall = new HttpReceiver({ honourKey: true });
  const engineers = new HttpReceiver({ honourKey: true });
  const alerts = new HttpReceiver({ honourKey: true });
  // The health check's slow target answers only when the test lets it: the run is surely mid-way at the kill.
  let slow: Server;
  const heldProbes: ServerResponse[] = [];
  let releaseProbes = false;
  let configPath: string;
  let schema: string;
  let incidentSchema: string;

  beforeAll(async () => {
    await requirePostgres();
    schema = await pg.schema();
    incidentSchema = await pg.schema();
    await seedOldUsers(pg, schema, ROWS);
    await createNewUsers(pg, schema);
    await slowDownTarget(pg, schema, 0.25);
    const [slowPort, deadPort] = await Promise.all([freePort(), freePort()]);
    slow = createServer((_q, r) => (releaseProbes ? r.writeHead(200).end('ok') : heldProbes.push(r))).listen(
      slowPort,
      '127.0.0.1',
    );
    await Promise.all([oncall.start(), engineers.start(), alerts.start()]);
    configPath = writeConfig({
      ...migrationConfig(),
      postgres: { ...migrationConfig().postgres, main: { ...pgConnection } },
      http: {
        slow: { url: `http://127.0.0.1:${slowPort}/health`, timeoutMs: 60_000 },
        gone: { url: `http://127.0.0.1:${deadPort}/health`, timeoutMs: 2_000 },
      },
      notifiers: {
        'oncall-hook': { type: 'webhook', url: `${oncall.url}/hook` },
        'eng-hook': { type: 'webhook', url: `${engineers.url}/hook` },
        ops: { type: 'webhook', url: `${alerts.url}/hook` },
      },
      healthCheckNotify: ['ops'],
      incident: {
        store: { postgres: 'main', schema: incidentSchema },
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
    stack = await Stack.start();
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    for (const r of heldProbes.splice(0)) r.destroy();
    slow?.closeAllConnections();
    slow?.close();
    await Promise.all([oncall.stop(), engineers.stop(), alerts.stop()]);
    await pg.drop();
  }, 60_000);

  /** The event each message was sent for, from its idempotency key (`<workflow>/<run>/<event>/<notifier>`). */
  const events = (reqs: ReceivedRequest[]) => reqs.map((r) => String(r.headers['idempotency-key'] ?? '').split('/')[2]);
  /** The process id in the identity of the worker running one of the run's activities (the SDK's default is `<pid>@<host>`). */
  // A copy of chunks under way on a worker (not a planning call about to end): the kill must find it there.
  const runningOn = async (handle: WorkflowHandle) => {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    const pid = pending
      .filter((a) => a.activityType?.name === 'copyMigrationChunks' && Number(a.state) === 2) // STARTED
      .map((a) => Number(String(a.lastWorkerIdentity ?? '').split('@')[0]))
      .find((p) => p > 0);
    return pid || undefined;
  };

  test('migration, incident and health check at once; the worker holding a chunk dies; every effect once', async () => {
    const workers = [0, 1, 2].map(() => stack.spawnWorkerProcess(configPath));
    const copied = () => pg.count(`SELECT count(*) FROM ${schema}.opsflow_migration_chunks WHERE status = 'copied'`);

    const migration = await stack.client.workflow.start('dataMigrationWorkflow', {
      taskQueue: 'opsflow',
      workflowId: `multi-worker-migration-${Date.now()}`,
      args: [runbookInput('multi-worker', schema, { chunkSize: ROWS / CHUNKS, parallelism: 2 })],
    });
    const incident = await stack.client.workflow.start('incidentResponseWorkflow', {
      taskQueue: 'opsflow',
      workflowId: `multi-worker-incident-${Date.now()}`,
      args: [{ title: 'checkout slow', type: 'latency', services: ['web-server'], metrics: { responseTimeMs: 6000 } }],
    });
    const health = await stack.client.workflow.start('healthCheckWorkflow', {
      taskQueue: 'opsflow',
      workflowId: `multi-worker-health-${Date.now()}`,
      args: [
        { targets: { resources: false, http: ['slow', 'gone'], postgres: [], redis: [], hosts: [], systemd: [] } },
      ],
    });

    // All three in the middle: chunks copied but not all, the incident opened and paged, the slow probe held.
    await waitFor(
      '5 chunks copied',
      async () => ((await copied().catch(() => 0)) >= 5 ? true : undefined),
      120_000,
      200,
    );
    await waitFor(
      'the incident opened and paged',
      () => oncall.accepted.length === 1 && engineers.accepted.length === 1,
      120_000,
      250,
    );
    await waitFor('the slow probe held', () => heldProbes.length >= 1, 120_000, 100);
    const pid = await waitFor('the worker running a migration chunk', () => runningOn(migration), 60_000, 100);
    const victim = workers.find((w) => w.child.pid === pid);
    expect(victim).toBeDefined();
    await killWorker((victim as { child: ChildProcess }).child);
    const atKill = await copied();
    expect(atKill).toBeLessThan(CHUNKS);

    releaseProbes = true;
    for (const r of heldProbes.splice(0)) r.writeHead(200).end('ok');
    await incident.signal(acknowledgeSignal, { by: 'erin' });
    await waitFor(
      'acknowledged',
      async () => (await incident.query(statusQuery)).state === 'acknowledged',
      60_000,
      250,
    );
    await incident.signal(resolveSignal, { by: 'erin' });

    const [migrated, resolved, checked] = await Promise.all([
      migration.result() as Promise<MigrationResult>,
      incident.result() as Promise<IncidentStatus>,
      health.result() as Promise<HealthCheckResult>,
    ]);
    // the two survivors ran on; the killed one's chunk was taken over after its heartbeat timeout
    for (const w of workers) if (w !== victim) expect(w.child.exitCode).toBeNull();
    expect((await retriedAttempts(migration)).length).toBeGreaterThan(0);

    // migration: every row copied, flagged and counted once
    const expected = migratable(ROWS);
    expect(migrated.rowsCopied).toBe(expected);
    expect(migrated.verification).toMatchObject({ pass: true, sourceRows: expected, targetRows: expected });
    expect(await pg.count(`SELECT count(*) FROM ${schema}.new_users`)).toBe(expected);
    expect(await pg.count(`SELECT count(DISTINCT user_id) FROM ${schema}.new_users`)).toBe(expected);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.old_users WHERE migrate_flag = 1`)).toBe(expected);
    expect(await pg.count(`SELECT count(*) FROM ${schema}.opsflow_migration_chunks WHERE status = 'copied'`)).toBe(
      CHUNKS,
    );
    expect(await pg.query(`SELECT status, rows_migrated FROM ${schema}.migration_log`)).toEqual([
      { status: 'COMPLETED', rows_migrated: expected },
    ]);

    // incident: each event delivered once to each receiver, duplicates included; one record
    expect(resolved).toMatchObject({ severity: 'P2', state: 'resolved', postmortemStored: true });
    expect(events(oncall.accepted)).toEqual(['opened', 'resolved']);
    expect(events(engineers.accepted)).toEqual(['opened', 'resolved']);
    expect(
      await pg.count(`SELECT count(*) FROM ${incidentSchema}.incidents WHERE workflow_id = $1`, [incident.workflowId]),
    ).toBe(1);

    // health check: whole report, one alert about the target that refuses connections
    expect(checked.checks.map((c) => [c.target, c.status]).sort()).toEqual([
      ['gone', 'down'],
      ['slow', 'healthy'],
    ]);
    expect(alerts.accepted).toHaveLength(1);
    expect(alerts.accepted[0].body).toMatch(/gone/);

    for (const w of workers) await killWorker(w.child);
  });
});

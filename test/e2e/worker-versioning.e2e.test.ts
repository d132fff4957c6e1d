import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { Stack, waitFor, writeConfig } from '../helpers/stack';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, redisConnection, requirePostgres, requireRedis } from '../helpers/services';
import { seedUsers } from '../helpers/cutover-fixtures';
import { HttpReceiver } from '../helpers/http-receiver';
import { buildBBundleFile } from '../helpers/versioning/build-b';
import { BATCH_START_NOTICE } from '../helpers/versioning/cutover-rollback-build-b';
import type { CutoverStatus } from '../../src/workflows/cutover/status';
import type { DeploymentStatus } from '../../src/client/worker-deployment';
import { rescheduleSignal, statusQuery } from '../../src/workflows/cutover/messages';

const USERS = 60;
const A = 'build-a-1';
const B = 'build-b-1';

/** The build id of each workflow task a run completed, in order (the version that ran it). */
async function taskBuilds(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? [])
    .filter((e) => e.workflowTaskCompletedEventAttributes)
    .map((e) => e.workflowTaskCompletedEventAttributes!.deploymentVersion?.buildId ?? '(unversioned)');
}

/**
 * opsflow's workers as versions of one Worker Deployment: a cutover started on build A waits in its
 * timer before batch 2 while a health check (pinned) is mid-check; build B, whose cutover has one
 * changed step, is ramped then promoted with `opsflow workers ramp`. The health check finishes on
 * A, new runs start on B, A drains and its worker stops, and the cutover continues on B, running
 * B's new step for batch 2 only, with no workflow task failing.
 */
describe('worker versioning: a new opsflow build rolls onto running runs', () => {
  let stack: Stack;
  const pg = new PgScratch('versioning');
  const service = `ver-${randomBytes(3).toString('hex')}`;
  const deployment = `opsflow-${randomBytes(3).toString('hex')}`;
  const key = `opsflow:routes:${service}`;
  const redis = new Redis({ ...redisConnection, lazyConnect: true });
  const receiver = new HttpReceiver();
  let stats: Server;
  let slow: Server;
  const heldChecks: ServerResponse[] = [];
  let releaseChecks = false;
  let configPath: string;
  let bundleB: string;
  /** Build B's worker and the CLI find the server through a Temporal profile (envconfig), not TEMPORAL_ADDRESS. */
  let viaProfile: NodeJS.ProcessEnv;

  beforeAll(async () => {
    await Promise.all([requirePostgres(), requireRedis()]);
    await redis.connect();
    await receiver.start();
    stats = createServer((_req, res) =>
      res.end(JSON.stringify({ errors: 0, total: 100, avgResponseMs: 5, complaints: 0 })),
    );
    // A health-check target whose first answer waits to be released: holds a pinned run mid-check.
    // Only the first: a retry after the check's timeout (30 s) is answered, so the run ends either way.
    slow = createServer((_req, res) => (releaseChecks || heldChecks.length > 0 ? res.end('ok') : heldChecks.push(res)));
    await Promise.all([
      new Promise<void>((r) => stats.listen(0, '127.0.0.1', r)),
      new Promise<void>((r) => slow.listen(0, '127.0.0.1', r)),
    ]);
    const schema = await pg.schema();
    const table = await seedUsers(pg, schema, USERS);
    [stack, bundleB] = await Promise.all([
      // Drainage is otherwise re-checked every few minutes; every second here, after a grace period
      // (default 3 min) for visibility to list the pinned runs: 20 s, as a loaded machine's lag may be
      // seconds, and a version shown drained before its pinned runs are listed could be stopped under them.
      Stack.start({
        dynamicConfig: {
          'matching.wv.VersionDrainageStatusRefreshInterval': '1s',
          'matching.wv.VersionDrainageStatusVisibilityGracePeriod': '20s',
        },
      }),
      buildBBundleFile(),
    ]);
    const profileFile = join(mkdtempSync(join(tmpdir(), 'opsflow-profile-')), 'temporal.toml');
    writeFileSync(profileFile, `[profile.versioning]\naddress = "${stack.temporalAddress()}"\nnamespace = "default"\n`);
    viaProfile = { TEMPORAL_ADDRESS: '', TEMPORAL_CONFIG_FILE: profileFile, TEMPORAL_PROFILE: 'versioning' };
    configPath = writeConfig({
      postgres: { main: pgConnection },
      redis: { cache: redisConnection },
      directories: { staff: { type: 'postgres', postgres: 'main', table } },
      routers: { gateway: { type: 'redis', redis: 'cache', chunkSize: 100 } },
      metricSources: {
        stats: {
          type: 'http-stats',
          url: `http://127.0.0.1:${(stats.address() as AddressInfo).port}/stats`,
          minRequests: 1,
        },
      },
      cutover: { store: { postgres: 'main', schema } },
      http: { slow: { url: `http://127.0.0.1:${(slow.address() as AddressInfo).port}/health`, timeoutMs: 120_000 } },
      notifiers: { ops: { type: 'webhook', url: `${receiver.url}/hook` } },
    });
  }, 240_000);
  afterAll(async () => {
    releaseChecks = true;
    for (const res of heldChecks.splice(0)) res.end('ok');
    await stack?.stop();
    await redis.del(key).catch(() => undefined);
    redis.disconnect();
    stats?.close();
    slow?.closeAllConnections();
    slow?.close();
    await receiver.stop();
    await pg.drop();
  }, 60_000);

  const status = async (): Promise<DeploymentStatus> => {
    const r = await stack.cli(['workers', 'status', '--deployment', deployment, '--json'], viaProfile);
    if (r.code !== 0) throw new Error(`opsflow workers status: exit ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as DeploymentStatus;
  };
  const versionEnv = (buildId: string) => ({ OPSFLOW_WORKER_DEPLOYMENT: deployment, OPSFLOW_BUILD_ID: buildId });
  const healthInput = { targets: { resources: false, http: ['slow'], postgres: [], redis: [], hosts: [] } };

  test('pinned runs finish on A, new runs start on B, the cutover continues on B with its changed step, A drains and stops', async () => {
    // ---- build A: the first version of a fresh deployment makes itself current
    const workerA = stack.spawnWorkerProcess(configPath, versionEnv(A));
    await waitFor(
      'build A current',
      async () => ((await status().catch(() => undefined))?.current === A ? true : undefined),
      90_000,
      500,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nworker A said:\n${workerA.output()}`);
    });

    const cutover = await stack.client.workflow.start('userCutoverWorkflow', {
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
              name: 'IT',
              cohort: { department: ['IT'] },
              startAt: '+1s',
              thresholds: { errorRatePercent: 5 },
              window: '2s',
            },
            {
              name: 'everyone else',
              cohort: 'rest',
              startAt: '+6h',
              thresholds: { errorRatePercent: 5 },
              window: '2s',
            },
          ],
        },
      ],
    });
    const cutoverStatus = () => cutover.query(statusQuery);
    await waitFor(
      'batch 1 moved, batch 2 waiting in its timer',
      async () => {
        const s = await cutoverStatus();
        return s.batches[0].state === 'moved' && s.batches[1].state === 'waiting' ? s : undefined;
      },
      120_000,
      250,
    );
    const itUsers = USERS / 5;
    expect(await redis.hlen(key)).toBe(itUsers);

    // ---- build B: polls, but takes no run until ramped (while the cutover waits on A)
    const workerB = stack.spawnWorkerProcess(configPath, {
      ...versionEnv(B),
      ...viaProfile,
      OPSFLOW_WORKFLOW_BUNDLE: bundleB,
    });
    await waitFor(
      'build B known to the deployment',
      async () => ((await status()).versions.some((v) => v.buildId === B) ? true : undefined),
      90_000,
      500,
    );
    expect((await status()).current).toBe(A);

    const unknown = await stack.cli([
      'workers',
      'ramp',
      'no-such-build',
      '--percent',
      '10',
      '--deployment',
      deployment,
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('build id "no-such-build" has no worker');
    const badPercent = await stack.cli(['workers', 'ramp', B, '--percent', '150', '--deployment', deployment]);
    expect(badPercent.code).toBe(2);
    expect(badPercent.stderr).toContain('--percent must be a number from 0 to 100');

    const ramp = await stack.cli(['workers', 'ramp', B, '--percent', '10', '--deployment', deployment]);
    expect(ramp.stderr).toBe('');
    expect(ramp.code).toBe(0);
    expect(ramp.stdout).toContain(`ramping ${B} at 10%`);
    expect((await status()).ramping).toEqual({ buildId: B, percent: 10 });
    // Back to 0 %, so that the next run surely starts on A.
    expect((await stack.cli(['workers', 'ramp', B, '--percent', '0', '--deployment', deployment])).code).toBe(0);
    expect((await status()).ramping).toEqual({ buildId: B, percent: 0 });

    // ---- a short run on A, mid-check when B is promoted
    const pinned = await stack.client.workflow.start('healthCheckWorkflow', {
      taskQueue: 'opsflow',
      workflowId: `hc-pinned-${service}`,
      args: [healthInput],
    });
    await waitFor('the pinned health check is mid-check', () => (heldChecks.length > 0 ? true : undefined), 60_000);

    const promote = await stack.cli(['workers', 'ramp', B, '--promote', '--deployment', deployment]);
    expect(promote.code).toBe(0);
    expect((await pinned.describe()).status.name).toBe('RUNNING');
    const promoted = await status();
    expect(promoted.current).toBe(B);
    expect(promoted.ramping).toBeUndefined();
    expect(promoted.versions.find((v) => v.buildId === A)?.status).toBe('draining');

    // ---- the pinned run finishes where it started
    releaseChecks = true;
    for (const res of heldChecks.splice(0)) res.end('ok');
    const pinnedResult = (await pinned.result()) as { healthy: number; total: number };
    expect(pinnedResult).toMatchObject({ healthy: 1, total: 1 });
    expect(new Set(await taskBuilds(pinned))).toEqual(new Set([A]));

    // ---- a new run starts on B
    const fresh = await stack.client.workflow.start('healthCheckWorkflow', {
      taskQueue: 'opsflow',
      workflowId: `hc-fresh-${service}`,
      args: [healthInput],
    });
    expect(await fresh.result()).toMatchObject({ healthy: 1, total: 1 });
    expect(new Set(await taskBuilds(fresh))).toEqual(new Set([B]));

    // ---- A has drained: no open run needs it, its worker stops cleanly
    const drained = await waitFor(
      'build A drained',
      async () => {
        const s = await status();
        return s.versions.find((v) => v.buildId === A)?.drainage === 'drained' ? s : undefined;
      },
      120_000,
      1000,
    );
    const text = await stack.cli(['workers', 'status', '--deployment', deployment]);
    expect(text.stdout).toMatch(new RegExp(`${A}\\s+drained\\s+no open run needs it`));
    expect(drained.current).toBe(B);
    const exited = new Promise<number | null>((r) => workerA.child.once('exit', (code) => r(code)));
    process.kill(-workerA.child.pid!, 'SIGTERM');
    expect(await exited).toBe(0);

    // ---- the cutover goes on, on B: batch 2 brought forward, B's changed step runs for it
    await cutover.signal(rescheduleSignal, {
      batch: 'everyone else',
      startAt: new Date(Date.now() + 2000).toISOString(),
      by: 'e2e',
    });
    const result = (await cutover.result()) as CutoverStatus;
    expect(result.state).toBe('completed');
    expect(result.batches.map((b) => b.state)).toEqual(['moved', 'moved']);
    expect(await redis.hlen(key)).toBe(USERS);
    expect((await redis.hvals(key)).every((v) => v === 'new_system')).toBe(true);

    // B's new step: one notice, for batch 2 only (batch 1 started on A, which has no such step)
    const notices = receiver.requests.filter((r) => r.body.includes('starting (build B)'));
    expect(notices).toHaveLength(1);
    expect(notices[0].body).toContain('everyone else');
    const history = await cutover.fetchHistory();
    const events = history.events ?? [];
    expect(events.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
    const patchIds = events
      .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
      .flatMap((e) =>
        Object.values(e.markerRecordedEventAttributes!.details ?? {}).flatMap((p) =>
          (p.payloads ?? []).map((x) => Buffer.from(x.data ?? []).toString()),
        ),
      );
    expect(patchIds.some((d) => d.includes(BATCH_START_NOTICE))).toBe(true);
    const builds = await taskBuilds(cutover);
    expect(builds[0]).toBe(A);
    expect(builds[builds.length - 1]).toBe(B);
    // A's tasks all come before B's: the run moved once, at the promotion, and never back.
    expect(builds.join(',')).toMatch(new RegExp(`^(${A},)+(${B},?)+$`));
    const described = await cutover.describe();
    expect(described.raw.workflowExecutionInfo?.versioningInfo?.deploymentVersion?.buildId).toBe(B);

    // The whole history, A's part and B's, replays on B's code.
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: bundleB }, dataConverter: stack.dataConverter },
      history,
      cutover.workflowId,
    );
    process.kill(-workerB.child.pid!, 'SIGTERM');
  }, 600_000);
});

import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { deployWorkflow } from '../../src/workflows';
import type { DeployStatus } from '../../src/workflows/deploy/state';

/**
 * The deploy's orchestration with stand-in activities acting on an in-memory fleet: what a
 * continued run must carry (bounded history) is seen in the calls the activities receive.
 */
describe('deployWorkflow (time-skipping, stand-in hosts)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await timeSkippingEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  test('a tiny maxHistoryEvents continues as new between batches and the deploy finishes: ref resolved once, migrations once, one release everywhere', async () => {
    const hosts = ['h1', 'h2', 'h3', 'h4'];
    const current: Record<string, string | undefined> = Object.fromEntries(hosts.map((h) => [h, 'old']));
    const calls = { fleet: 0, resolve: 0, migrate: 0, builds: [] as string[], pruned: [] as string[] };
    const commits = ['a'.repeat(40), 'b'.repeat(40)]; // a second resolve would see the branch moved
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'deploy-ts-can',
      workflowBundle: await workflowBundle(),
      activities: {
        deployFleet: async () => {
          calls.fleet++;
          return { names: hosts, hasMigrate: true };
        },
        resolveDeployRef: async () => ({ commit: commits[calls.resolve++] ?? 'c'.repeat(40) }),
        runMigrations: async () => {
          calls.migrate++;
          return { ran: true };
        },
        readHostReleases: async (s: { host: string }) => ({ current: current[s.host], releases: [] }),
        buildHostRelease: async (s: { host: string; release: string; commit: string }) => {
          calls.builds.push(`${s.host}:${s.release}:${s.commit.slice(0, 1)}`);
          return { release: s.release, built: true };
        },
        drainHost: async () => ({ server: 'x' }),
        confirmHostDrained: async () => ({ drained: true, sessions: 0 }),
        switchHostCurrent: async (s: { host: string; release: string }) => {
          const previous = current[s.host];
          current[s.host] = s.release;
          return { previous };
        },
        restartHostUnits: async () => ({ units: ['app'] }),
        reloadHostNginx: async () => ({ reloaded: true }),
        checkHostHealth: async () => ({ healthy: true, attempts: 1, last: '200' }),
        markHostRelease: async () => undefined,
        readyHost: async () => ({ server: 'x' }),
        pruneHostReleases: async (s: { host: string; protect: string[] }) => {
          calls.pruned.push(`${s.host}:${s.protect.join(',')}`);
          return { removed: [] };
        },
        notify: async (n: { notifier: string }) => ({ notifier: n.notifier, status: 200 }),
      },
    });
    const handle = await env.client.workflow.start(deployWorkflow, {
      taskQueue: 'deploy-ts-can',
      workflowId: 'deploy-web',
      args: [{ service: 'web', ref: 'main', maxHistoryEvents: 10 }],
    });
    const out = await worker.runUntil(async () => {
      const result = await handle.result();
      return { result, description: await handle.describe() };
    });
    const result: DeployStatus = out.result;
    // It did continue: the run that returned is not the first one.
    expect(out.description.runId).not.toBe(handle.firstExecutionRunId);
    expect(result.log).toEqual(expect.arrayContaining([expect.stringMatching(/^continued as new before batch 2\/4$/), expect.stringMatching(/^continued as new before batch 4\/4$/)]));
    expect(result.phase).toBe('done');
    expect(calls).toMatchObject({ fleet: 1, resolve: 1, migrate: 1 });
    const release = result.release!;
    expect(release).toMatch(/^\d{14}-a{40}$/);
    expect(calls.builds).toEqual(hosts.map((h) => `${h}:${release}:a`));
    expect(Object.values(current)).toEqual(hosts.map(() => release));
    expect(Object.fromEntries(Object.entries(result.hosts).map(([h, s]) => [h, [s.state, s.previous, s.release]]))).toEqual(
      Object.fromEntries(hosts.map((h) => [h, ['done', 'old', release]])),
    );
    expect(result.migrations).toBe('ran');
    expect(calls.pruned).toEqual(hosts.map((h) => `${h}:${release}`));
  });
});

import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { deployWorkflow, rollbackDeployWorkflow } from '../../src/workflows';
import { defaultPayloadConverter } from '@temporalio/common';
import type { DeployCarry, DeployStatus } from '../../src/workflows/deploy/status';
import { rollbackTarget } from '../../src/domain/deploy/release';
import { waitFor } from '../helpers/ports';
import { recordHistory } from '../helpers/histories';
import { standInFleet } from '../helpers/deploy-stand-ins';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { OpsflowPhase } from '../../src/domain/search-attributes';
import {
  abortUpdate,
  approveSignal,
  pauseUpdate,
  resumeUpdate,
  statusQuery,
} from '../../src/workflows/deploy/messages';

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
    expect(result.log).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^continued as new before batch 2\/4$/),
        expect.stringMatching(/^continued as new before batch 4\/4$/),
      ]),
    );
    expect(result.phase).toBe('done');
    expect(calls).toMatchObject({ fleet: 1, resolve: 1, migrate: 1 });
    const release = result.release!;
    expect(release).toMatch(/^\d{14}-a{40}$/);
    expect(calls.builds).toEqual(hosts.map((h) => `${h}:${release}:a`));
    expect(Object.values(current)).toEqual(hosts.map(() => release));
    expect(
      Object.fromEntries(Object.entries(result.hosts).map(([h, s]) => [h, [s.state, s.previous, s.release]])),
    ).toEqual(Object.fromEntries(hosts.map((h) => [h, ['done', 'old', release]])));
    expect(result.migrations).toBe('ran');
    expect(calls.pruned).toEqual(hosts.map((h) => `${h}:${release}`));
  });

  test('a rollback with a tiny maxHistoryEvents continues as new between batches: every host back exactly once on the target found at the start, approvals sent ahead carried, status totals across runs', async () => {
    const hosts = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'];
    const [r1, r2, r3] = ['1', '2', '3'].map((m) => `2026110${m}000000-${m.repeat(40)}`);
    // Each host has three complete releases and runs the newest: its rollback target is r2. A
    // target looked up again after the host switched would be r1, so a second switch shows.
    const fleet: Record<string, { current: string; releases: string[] }> = Object.fromEntries(
      hosts.map((h) => [h, { current: r3, releases: [r1, r2, r3] }]),
    );
    const calls = { fleet: 0, targets: [] as string[], switches: [] as string[] };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'rollback-ts-can',
      workflowBundle: await workflowBundle(),
      activities: {
        deployFleet: async () => {
          calls.fleet++;
          return { names: hosts, hasMigrate: false };
        },
        hostRollbackTarget: async (s: { host: string; release?: string }) => {
          calls.targets.push(s.host);
          const h = fleet[s.host];
          const to = rollbackTarget(
            h.releases.map((name) => ({ name, state: 'complete' as const })),
            h.current,
            s.release,
          );
          return to.ok ? { release: to.release, current: h.current } : { reason: to.reason, current: h.current };
        },
        readHostReleases: async (s: { host: string }) => ({
          current: fleet[s.host].current,
          releases: fleet[s.host].releases,
        }),
        drainHost: async () => ({ server: 'x' }),
        confirmHostDrained: async () => ({ drained: true, sessions: 0 }),
        switchHostCurrent: async (s: { host: string; release: string }) => {
          calls.switches.push(`${s.host}:${s.release}`);
          const previous = fleet[s.host].current;
          fleet[s.host].current = s.release;
          return { previous };
        },
        restartHostUnits: async () => ({ units: ['app'] }),
        reloadHostNginx: async () => ({ reloaded: true }),
        checkHostHealth: async () => ({ healthy: true, attempts: 1, last: '200' }),
        readyHost: async () => ({ server: 'x' }),
      },
    });
    const handle = await env.client.workflow.start(rollbackDeployWorkflow, {
      taskQueue: 'rollback-ts-can',
      workflowId: 'deploy-shop',
      args: [{ service: 'shop', serial: 2, approval: 'each-batch', maxHistoryEvents: 10 }],
    });
    // Sent before any run took a step: batch 1 uses the first; the second must survive the hand-over to batch 2's run.
    const latest = env.client.workflow.getHandle('deploy-shop');
    await latest.signal(approveSignal, { step: 1, by: 'ann' });
    await latest.signal(approveSignal, { step: 2, by: 'ann' });
    const out = await worker.runUntil(async () => {
      // Batch 3 waits for its own approve, in the third run: nothing of batch 3 may have moved yet.
      // Found from the server's record alone: on the time-skipping server a status query racing a
      // continue-as-new was seen to leave the run stuck, so the one query waits for a quiet run.
      await waitFor(
        'the third run waiting for the approve of batch 3',
        async () => {
          const d = await latest.describe();
          if (d.runId === handle.firstExecutionRunId || d.status.name !== 'RUNNING') return undefined;
          const { events } = await env.client.workflow.getHandle('deploy-shop', d.runId).fetchHistory();
          const carried = defaultPayloadConverter.fromPayload<DeployCarry>(
            events![0].workflowExecutionStartedEventAttributes!.input!.payloads![1],
          );
          // Its first task done, a run that starts at batch 3 has nothing to do but wait.
          return carried.nextBatch === 2 && events!.some((e) => e.workflowTaskCompletedEventAttributes);
        },
        60_000,
        100,
      );
      const held = await latest.query(statusQuery);
      const heldFleet = hosts.map((h) => fleet[h].current);
      await latest.signal(approveSignal, { step: 3, by: 'ann' });
      const result: DeployStatus = await handle.result();
      return {
        held,
        heldFleet,
        result,
        final: await latest.query(statusQuery),
        description: await latest.describe(),
      };
    });

    expect(out.description.runId).not.toBe(handle.firstExecutionRunId);
    recordHistory(env.address, 'deploy-shop', 'rollback-deploy-continued-as-new');
    // While held in run 3: batches 1 and 2 (done in runs 1 and 2) are reported, batch 3 untouched.
    expect(out.heldFleet).toEqual([r2, r2, r2, r2, r3, r3]);
    expect(Object.fromEntries(Object.entries(out.held.hosts).map(([h, s]) => [h, s.state]))).toEqual({
      h1: 'done',
      h2: 'done',
      h3: 'done',
      h4: 'done',
      h5: 'pending',
      h6: 'pending',
    });
    expect(out.held).toMatchObject({ runs: 3, phase: 'awaiting-approval', batch: 2 });

    // The effect: every host switched once, to the target found once at the start.
    expect(calls.fleet).toBe(1);
    expect([...calls.targets].sort()).toEqual(hosts);
    expect([...calls.switches].sort()).toEqual(hosts.map((h) => `${h}:${r2}`));
    expect(hosts.map((h) => fleet[h].current)).toEqual(hosts.map(() => r2));

    // Status (the result and the last run's query alike) counts every run's hosts.
    for (const s of [out.result, out.final]) {
      expect(s).toMatchObject({ kind: 'rollback', phase: 'done', runs: 3, batch: 3, failures: { fleet: 0 } });
      expect(s.hosts).toEqual(Object.fromEntries(hosts.map((h) => [h, { state: 'done', previous: r3, release: r2 }])));
    }
    expect(out.result.log).toEqual(
      expect.arrayContaining([
        'approve received for step 2 from ann',
        'history is long: continuing as new before batch 2/3',
        'continued as new before batch 2/3',
        'continued as new before batch 3/3',
        'approve received for step 3 from ann',
      ]),
    );
  });

  test('a stopped deploy with rollbackFleetOnFailure and a tiny maxHistoryEvents continues its fleet rollback as new: every upgraded host back once, one stopped message, DeployStopped with the reason', async () => {
    const hosts = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'];
    const current: Record<string, string> = Object.fromEntries(hosts.map((h) => [h, 'old']));
    const switches: Record<string, string[]> = Object.fromEntries(hosts.map((h) => [h, []]));
    const told: { title: string; text: string; key: string }[] = [];
    const calls = { fleet: 0, resolve: 0 };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'deploy-ts-fleet-rollback',
      workflowBundle: await workflowBundle(),
      activities: {
        deployFleet: async () => {
          calls.fleet++;
          return { names: hosts, hasMigrate: false };
        },
        resolveDeployRef: async () => {
          calls.resolve++;
          return { commit: 'a'.repeat(40) };
        },
        readHostReleases: async (s: { host: string }) => ({ current: current[s.host], releases: [] }),
        buildHostRelease: async (s: { release: string }) => ({ release: s.release, built: true }),
        drainHost: async () => ({ server: 'x' }),
        confirmHostDrained: async () => ({ drained: true, sessions: 0 }),
        switchHostCurrent: async (s: { host: string; release: string }) => {
          switches[s.host].push(s.release);
          const previous = current[s.host];
          current[s.host] = s.release;
          return { previous };
        },
        restartHostUnits: async () => ({ units: ['app'] }),
        reloadHostNginx: async () => ({ reloaded: true }),
        // h5 fails on the new release: batch 3 (h5, h6) goes over the 0 % budget after h1–h4 and h6 upgraded.
        checkHostHealth: async (s: { host: string }) =>
          s.host === 'h5' && current.h5 !== 'old'
            ? { healthy: false, attempts: 1, last: '500' }
            : { healthy: true, attempts: 1, last: '200' },
        markHostRelease: async () => undefined,
        readyHost: async () => ({ server: 'x' }),
        notify: async (n: { notifier: string; title: string; text: string; idempotencyKey: string }) => {
          told.push({ title: n.title, text: n.text, key: n.idempotencyKey });
          return { notifier: n.notifier, status: 200 };
        },
      },
    });
    const handle = await env.client.workflow.start(deployWorkflow, {
      taskQueue: 'deploy-ts-fleet-rollback',
      workflowId: 'deploy-api',
      args: [
        { service: 'api', ref: 'main', serial: 2, rollbackFleetOnFailure: true, notify: ['ops'], maxHistoryEvents: 10 },
      ],
    });
    // Only the result (which follows the runs) is awaited while runs hand over; the one status
    // query goes to the closed last run (a query racing a hand-over on the time-skipping server
    // was seen to leave the run stuck).
    const out = await worker.runUntil(async () => {
      const failure = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      const latest = env.client.workflow.getHandle('deploy-api');
      return { failure, final: await latest.query(statusQuery), description: await latest.describe() };
    });

    recordHistory(env.address, 'deploy-api', 'deploy-fleet-rollback-continued-as-new');
    // The budget, then the failed host with its step and cause (the stand-in's words: no reason, the old phrase).
    const reason =
      '1 of 2 hosts failed in the batch (50 % > budget 0 %): h5 (health check): health check failed after 5 attempts (500)';
    expect(out.failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (out.failure as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({
      type: 'DeployStopped',
      nonRetryable: true,
      message: `deploy of api stopped: ${reason}`,
    });

    // The effect on the fleet: every upgraded host switched to the new release and back to its
    // previous one exactly once; h5 went back by its own compensation, once.
    const release = out.final.release!;
    expect(release).toMatch(/^\d{14}-a{40}$/);
    expect(switches).toEqual(Object.fromEntries(hosts.map((h) => [h, [release, 'old']])));
    expect(Object.values(current)).toEqual(hosts.map(() => 'old'));
    expect(calls).toEqual({ fleet: 1, resolve: 1 });

    // One 'stopped' message, from the last run, with the reason; nothing said 'done'.
    expect(told.map((t) => t.title)).toEqual(['Deploy of api stopped']);
    expect(told[0].text.startsWith(`${reason}\n\n`)).toBe(true);
    // Sent by a continued run, keyed by the chain's first run: a repeat from any later run is the same message.
    expect(out.description.runId).not.toBe(handle.firstExecutionRunId);
    expect(told[0].key).toBe(`deploy-api/${handle.firstExecutionRunId}/stopped/ops`);

    // Batches 2 and 3 each in their own run, then the fleet rollback continued between hosts.
    expect(out.description.runId).not.toBe(handle.firstExecutionRunId);
    expect(out.final).toMatchObject({ phase: 'stopped', stopReason: reason, failures: { fleet: 1 } });
    // 3 runs for the batches, then one per host after the first of the rollback (each saga passes 10 events).
    expect(out.final.runs).toBe(7);
    expect(out.final.log).toEqual(
      expect.arrayContaining([
        'rolling back the fleet: h1 to old, h2 to old, h3 to old, h4 to old, h6 to old',
        ...[4, 3, 2, 1].map((left) => `history is long: continuing the fleet rollback as new (${left} hosts left)`),
        ...[1, 2, 3, 4].map((back) => `continued as new during the fleet rollback (${back}/5 hosts back)`),
      ]),
    );
  });

  /** A worker whose hosts' builds each wait for the test to release them: the run is held mid-batch at will. */
  async function gatedWorker(taskQueue: string, hosts = ['h1', 'h2']) {
    const gates = new Map(
      hosts.map((h) => {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        return [h, { promise, resolve }];
      }),
    );
    const built: string[] = [];
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: standInFleet(hosts, {
        buildHostRelease: async (s: { host: string; release: string }) => {
          built.push(s.host);
          await gates.get(s.host)!.promise;
          return { release: s.release, built: true };
        },
      }),
    });
    return { worker, built, gates };
  }

  test('a paused deploy says so: status paused (by whom), OpsflowPhase "paused" and the resume command in its details while the batch under way finishes and no next one starts; resumed, it reads deploying again', async () => {
    const { worker, built, gates } = await gatedWorker('deploy-ts-paused');
    const handle = await env.client.workflow.start(deployWorkflow, {
      taskQueue: 'deploy-ts-paused',
      workflowId: 'deploy-paused',
      args: [{ service: 'paused', ref: 'main' }],
    });
    const phase = async () => (await handle.describe()).typedSearchAttributes.get(OpsflowPhase);
    const details = async () =>
      (await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';
    const out = await worker.runUntil(async () => {
      await waitFor('h1 building', () => built.includes('h1'));
      const answer = await handle.executeUpdate(pauseUpdate, { args: [{ by: 'ann', reason: 'look at h1' }] });
      const midBatch = { status: await handle.query(statusQuery), phase: await phase() };
      gates.get('h1')!.resolve();
      const between = await waitFor('the run held before batch 2', async () => {
        const s = await handle.query(statusQuery);
        return s.phase === 'paused' ? s : undefined;
      });
      const betweenPhase = await phase();
      const betweenDetails = await details();
      await handle.executeUpdate(resumeUpdate, { args: [{ by: 'bob' }] });
      await waitFor('h2 building', () => built.includes('h2'));
      const resumed = { status: await handle.query(statusQuery), phase: await phase() };
      gates.get('h2')!.resolve();
      const result = await handle.result();
      return { answer, midBatch, between, betweenPhase, betweenDetails, resumed, result, final: await phase() };
    });
    recordHistory(env.address, 'deploy-paused', 'deploy-paused-resumed-mid-batch');

    expect(out.answer).toMatchObject({ phase: 'deploying', paused: true, pausedBy: { by: 'ann' } });
    // Mid-batch: the run is found as paused at once; its own phase says the batch goes on.
    expect(out.midBatch.status).toMatchObject({ phase: 'deploying', batch: 1, paused: true });
    expect(out.midBatch.phase).toBe('paused');
    // Between batches: batch 2 has not started, and the details name the command that resumes it.
    expect(out.between.hosts.h2.state).toBe('pending');
    expect(out.betweenPhase).toBe('paused');
    expect(out.betweenDetails).toContain('paused by ann');
    expect(out.betweenDetails).toContain('`opsflow resume deploy-paused`');
    // Resumed: the phase it had, then done.
    expect(out.resumed.status.paused).toBeUndefined();
    expect(out.resumed.phase).toBe('deploying');
    expect(out.result.phase).toBe('done');
    expect(out.final).toBe('done');
  });
  test('an abort sent while a deploy is paused between batches ends it without a resume: the next batch never starts', async () => {
    const { worker, built, gates } = await gatedWorker('deploy-ts-paused-abort');
    const handle = await env.client.workflow.start(deployWorkflow, {
      taskQueue: 'deploy-ts-paused-abort',
      workflowId: 'deploy-paused-aborted',
      args: [{ service: 'paused-aborted', ref: 'main' }],
    });
    const out = await worker.runUntil(async () => {
      await waitFor('h1 building', () => built.includes('h1'));
      await handle.executeUpdate(pauseUpdate, { args: [{ by: 'ann' }] });
      gates.get('h1')!.resolve();
      await waitFor('the run held before batch 2', async () => (await handle.query(statusQuery)).phase === 'paused');
      const answer = await handle.executeUpdate(abortUpdate, { args: [{ by: 'bob', reason: 'wrong release' }] });
      // Bounded: without the fix the run waits for a resume and this never settles.
      const failure = await Promise.race([
        handle.result().then(
          () => undefined,
          (e: unknown) => e,
        ),
        new Promise((r) => setTimeout(() => r('still waiting for a resume'), 30_000)),
      ]);
      return { answer, failure, status: await handle.query(statusQuery) };
    });
    recordHistory(env.address, 'deploy-paused-aborted', 'deploy-paused-aborted');
    gates.get('h2')!.resolve();

    expect(out.answer).toMatchObject({ paused: true });
    expect(out.failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (out.failure as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('DeployStopped');
    expect(cause.message).toMatch(/before batch 2/);
    expect(built).toEqual(['h1']);
    expect(out.status.hosts.h2.state).toBe('pending');
    expect(out.status.phase).toBe('stopped');
  });
});

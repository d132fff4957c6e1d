// Why: the entry of a fleet deploy and of its rollback, reading like the runbook: resolve the ref
// once, migrate once, then per batch one saga per host, the failure budget after each batch,
// prune only after success. The running workflow (id deploy-<service>) is the deploy lock.
import * as wf from '@temporalio/workflow';
import {
  deployInput,
  deployWorkflowId,
  rollbackDeployInput,
  type DeployInputRaw,
  type RollbackDeployInputRaw,
} from '../../domain/deploy/input';
import type { z } from 'zod';
import { planBatches } from '../../domain/deploy/plan';
import { releaseName } from '../../domain/deploy/release';
import { OpsflowCommit, OpsflowPhase, OpsflowService } from '../../domain/search-attributes';
import { continueAsNewWith, historyIsLong } from '../common/continue-as-new';
import { RunEnding } from '../common/ending';
import { Progress } from '../common/progress';
import { parseInput } from '../input';
import { migrateStep, planning, pruneStep, resolveStep, targetStep } from './activities';
import { rollbackUpgraded, runBatches } from './batches';
import { installHandlers } from './handlers';
import { teller } from './notify';
import type { SagaContext, SagaPlan } from './saga-plan';
import { DeployRun } from './state';
import type { DeployCarry, DeployStatus } from './status';

/** Continue-as-new between batches: runs recorded before it never issue it. */
const DEPLOY_CONTINUE_AS_NEW = 'opsflow-deploy-continue-as-new';
/** The same for the rollback: rollbacks recorded before it never issue it. */
const ROLLBACK_CONTINUE_AS_NEW = 'opsflow-rollback-deploy-continue-as-new';
/** The same between hosts of a stopped deploy's fleet rollback: runs recorded before it never issue it. */
const FLEET_ROLLBACK_CONTINUE_AS_NEW = 'opsflow-deploy-fleet-rollback-continue-as-new';

export async function deployWorkflow(raw: DeployInputRaw, carried?: DeployCarry): Promise<DeployStatus> {
  const ending = new RunEnding();
  let current: DeployRun | undefined;
  ending.onEnd(({ kind }) => {
    current?.setPhase(kind === 'cancelled' ? 'cancelled' : current.status.phase === 'stopped' ? 'stopped' : 'failed');
    return `deploy of ${raw?.service ?? '?'}`;
  });
  return ending.run(async () => {
    const input = parseInput(deployInput, raw, 'deployWorkflow');
    requireLockId(input.service);
    const run = (current = carried
      ? DeployRun.resume(carried)
      : new DeployRun({ kind: 'deploy', service: input.service, ref: input.ref, budget: input.maxFailPercent }));
    const { progress, controls, ctx, planFleet, continuer } = openRun(run, raw, input, carried);
    let hostNames: string[];
    let commit: string;
    let release: string;
    if (carried) {
      // A continued run: the fleet, the commit and the release name are the first run's; the ref
      // is never resolved again (the branch may have moved) and migrations stay as they were.
      hostNames = run.status.batches.flat();
      commit = run.status.commit!;
      release = run.status.release!;
      progress.update([
        { key: OpsflowService, value: input.service },
        { key: OpsflowCommit, value: commit },
        { key: OpsflowPhase, value: run.fleetRollbackReason === undefined ? 'deploying' : 'rolling-back-fleet' },
      ]);
    } else {
      hostNames = await planFleet('resolving', true);

      // ---- resolve once: every host gets this commit, whatever the branch does meanwhile
      ({ commit } = await resolveStep(input.ref).resolveDeployRef({ service: input.service, ref: input.ref }));
      release = releaseName(new Date(wf.workflowInfo().runStartTime), commit);
      run.resolved(commit, release);
      progress.update([
        { key: OpsflowCommit, value: commit },
        { key: OpsflowPhase, value: 'deploying' },
      ]);
    }

    const migrateOnce = async (host: string) => {
      if (run.status.migrations !== 'pending') return;
      run.setPhase('migrating');
      progress.show();
      await migrateStep(host).runMigrations({ service: input.service, host, release });
      run.migrated();
    };
    const plan = (host: string): SagaPlan => ({
      service: input.service,
      host,
      release,
      build: { commit },
      beforeSwitch: () => migrateOnce(host),
      health: input.healthCheck,
      drainTimeout: input.drainTimeout,
    });

    const continueIfLong = continuer(DEPLOY_CONTINUE_AS_NEW);
    // Between hosts of a fleet rollback the same, carrying the stop reason and the hosts already back.
    const continueRollbackIfLong = async () => {
      if (!historyIsLong(input.maxHistoryEvents) || !wf.patched(FLEET_ROLLBACK_CONTINUE_AS_NEW)) return;
      run.note(`history is long: continuing the fleet rollback as new (${run.fleetRollbackLeft().length} hosts left)`);
      await continueAsNewWith<typeof deployWorkflow>(raw, run.carry(run.status.batches.length, controls.carry()));
    };
    // A run continued during the fleet rollback has no batch left: it goes straight back to it.
    const stopped =
      run.fleetRollbackReason ?? (await runBatches(ctx, input, plan, carried?.nextBatch ?? 0, continueIfLong));
    if (stopped) {
      if (input.rollbackFleetOnFailure) await rollbackUpgraded(ctx, input, stopped, continueRollbackIfLong);
      run.setPhase('stopped');
      progress.phase('stopped');
      await ctx.tell('stopped', 'critical', `Deploy of ${input.service} stopped`, `${stopped}\n\n${run.details()}`);
      throw wf.ApplicationFailure.nonRetryable(`deploy of ${input.service} stopped: ${stopped}`, 'DeployStopped');
    }

    // ---- success only: old releases go
    run.setPhase('pruning');
    progress.show();
    for (const host of hostNames)
      if (run.status.hosts[host].state === 'done')
        await pruneStep(host).pruneHostReleases({
          service: input.service,
          host,
          keep: input.keepReleases,
          protect: [release],
        });
    run.setPhase('done');
    progress.phase('done');
    await ctx.tell('done', 'info', `Deploy of ${input.service} done: ${commit.slice(0, 12)}`, run.details());
    return run.status;
  });
}

export async function rollbackDeployWorkflow(
  raw: RollbackDeployInputRaw,
  carried?: DeployCarry,
): Promise<DeployStatus> {
  const ending = new RunEnding();
  let current: DeployRun | undefined;
  ending.onEnd(({ kind }) => {
    current?.setPhase(kind === 'cancelled' ? 'cancelled' : 'failed');
    return `rollback of ${raw?.service ?? '?'}`;
  });
  return ending.run(async () => {
    const input = parseInput(rollbackDeployInput, raw, 'rollbackDeployWorkflow');
    requireLockId(input.service);
    const run = (current = carried
      ? DeployRun.resume(carried)
      : new DeployRun({ kind: 'rollback', service: input.service, budget: input.maxFailPercent }));
    const { progress, ctx, planFleet, continuer } = openRun(run, raw, input, carried);
    let targets: Record<string, string>;
    if (carried) {
      // A continued run: the fleet and each host's target are the first run's, never looked up
      // again (a host already switched back would now name an older release as its "previous").
      if (!carried.targets)
        throw wf.ApplicationFailure.nonRetryable("a continued rollback must carry its hosts' targets", 'InvalidCarry');
      targets = carried.targets;
      progress.update([
        { key: OpsflowService, value: input.service },
        { key: OpsflowPhase, value: 'rolling-back' },
      ]);
    } else {
      const hostNames = await planFleet('rolling-back', false);
      // Every host's target is found before the first switch: the previous complete release on that host.
      targets = {};
      for (const host of hostNames) {
        const t = await targetStep(host).hostRollbackTarget({ service: input.service, host, release: input.release });
        if (!t.release)
          throw wf.ApplicationFailure.nonRetryable(`${host}: nothing to roll back to: ${t.reason}`, 'NoRollbackTarget');
        targets[host] = t.release;
      }
    }
    const plan = (host: string): SagaPlan => ({
      service: input.service,
      host,
      release: targets[host],
      health: input.healthCheck,
      drainTimeout: input.drainTimeout,
    });
    const continueIfLong = continuer(ROLLBACK_CONTINUE_AS_NEW, targets);
    const stopped = await runBatches(ctx, input, plan, carried?.nextBatch ?? 0, continueIfLong);
    if (stopped)
      throw wf.ApplicationFailure.nonRetryable(`rollback of ${input.service} stopped: ${stopped}`, 'DeployStopped');
    run.setPhase('done');
    progress.phase('done');
    return run.status;
  });
}

function requireLockId(service: string): void {
  const id = wf.workflowInfo().workflowId;
  if (id !== deployWorkflowId(service))
    throw wf.ApplicationFailure.nonRetryable(
      `a deploy or rollback of ${service} must run as workflow id "${deployWorkflowId(service)}" (got "${id}"): the running workflow is the service's deploy lock`,
      'InvalidWorkflowId',
    );
}

/**
 * The run's details in the UI, the operator's say and what a saga is given: set before the first
 * await. The input is a deploy's or a rollback's (a rollback's fields are those both have).
 */
function openRun(run: DeployRun, raw: unknown, input: z.output<typeof rollbackDeployInput>, carried?: DeployCarry) {
  const progress = new Progress(() => run.details(wf.workflowInfo().workflowId), {
    key: OpsflowPhase,
    paused: () => run.pauseHolds,
    state: () => run.status.phase,
  });
  const controls = installHandlers(run, () => progress.pauseChanged(), carried?.operator);
  const ctx: SagaContext = {
    run,
    controls,
    approvalRule: input.approvalRule,
    show: () => progress.show(),
    tell: teller(input.notify),
  };
  /** The fleet in batches (with its migrations, when `migrations` and it has some); the service and `phase` shown. */
  const planFleet = async (phase: string, migrations: boolean): Promise<string[]> => {
    const hosts = await planning.deployFleet({
      service: input.service,
      hosts: input.hosts,
      attempts: input.healthCheck.attempts,
    });
    run.planned(planBatches(hosts.names, input.serial), migrations && hosts.hasMigrate);
    progress.update([
      { key: OpsflowService, value: input.service },
      { key: OpsflowPhase, value: phase },
    ]);
    return hosts.names;
  };
  /** Between batches, a long history hands over to a new run with the state (bounded history). */
  const continuer = (patch: string, targets?: Record<string, string>) => async (nextBatch: number) => {
    if (!historyIsLong(input.maxHistoryEvents) || !wf.patched(patch)) return;
    run.note(`history is long: continuing as new before batch ${nextBatch + 1}/${run.status.batches.length}`);
    await continueAsNewWith(raw, run.carry(nextBatch, controls.carry(), targets));
  };
  return { progress, controls, ctx, planFleet, continuer };
}

// Why: the entry of a fleet deploy and of its rollback, reading like the runbook: resolve the ref
// once, migrate once, then per batch one saga per host, the failure budget after each batch,
// prune only after success. The running workflow (id deploy-<service>) is the deploy lock.
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import {
  deployInput,
  deployWorkflowId,
  rollbackDeployInput,
  type DeployInputRaw,
  type RollbackDeployInputRaw,
} from '../../domain/deploy/input';
import type { ApprovalRule } from '../../domain/approval';
import { planBatches } from '../../domain/deploy/plan';
import { approvalWaitText } from '../../domain/operator-commands';
import { releaseName } from '../../domain/deploy/release';
import { OpsflowCommit, OpsflowPhase, OpsflowService } from '../../domain/search-attributes';
import { continueAsNewWith, historyIsLong } from '../common/continue-as-new';
import { RunEnding } from '../common/ending';
import { Progress } from '../common/progress';
import { parseInput } from '../input';
import { installHandlers } from './handlers';
import {
  FLAP_STOPS_FLEET,
  hostSaga,
  migrateStep,
  pruneStep,
  resolveStep,
  targetStep,
  teller,
  type SagaContext,
  type SagaPlan,
} from './saga';
import { DeployRun, type DeployCarry, type DeployStatus } from './state';

/** Continue-as-new between batches: runs recorded before it never issue it. */
const DEPLOY_CONTINUE_AS_NEW = 'opsflow-deploy-continue-as-new';
/** The same for the rollback: rollbacks recorded before it never issue it. */
const ROLLBACK_CONTINUE_AS_NEW = 'opsflow-rollback-deploy-continue-as-new';
/** The same between hosts of a stopped deploy's fleet rollback: runs recorded before it never issue it. */
const FLEET_ROLLBACK_CONTINUE_AS_NEW = 'opsflow-deploy-fleet-rollback-continue-as-new';

const planning = wf.proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 3 } });

export async function deployWorkflow(raw: DeployInputRaw, carried?: DeployCarry): Promise<DeployStatus> {
  const ending = new RunEnding();
  let run: DeployRun | undefined;
  ending.onEnd(({ kind }) => {
    run?.setPhase(kind === 'cancelled' ? 'cancelled' : run.status.phase === 'stopped' ? 'stopped' : 'failed');
    return `deploy of ${raw?.service ?? '?'}`;
  });
  return ending.run(async () => {
    const input = parseInput(deployInput, raw, 'deployWorkflow');
    requireLockId(input.service);
    run = carried
      ? DeployRun.resume(carried)
      : new DeployRun({ kind: 'deploy', service: input.service, ref: input.ref, budget: input.maxFailPercent });
    const r = run;
    const progress = new Progress(() => r.details(wf.workflowInfo().workflowId), {
      key: OpsflowPhase,
      paused: () => r.pauseHolds,
      state: () => r.status.phase,
    });
    const controls = installHandlers(r, () => progress.pauseChanged(), carried?.operator);
    let hostNames: string[];
    let commit: string;
    let release: string;
    if (carried) {
      // A continued run: the fleet, the commit and the release name are the first run's; the ref
      // is never resolved again (the branch may have moved) and migrations stay as they were.
      hostNames = r.status.batches.flat();
      commit = r.status.commit!;
      release = r.status.release!;
      progress.update([
        { key: OpsflowService, value: input.service },
        { key: OpsflowCommit, value: commit },
        { key: OpsflowPhase, value: r.fleetRollbackReason === undefined ? 'deploying' : 'rolling-back-fleet' },
      ]);
    } else {
      const hosts = await fleetHosts(input.service, input.hosts, input.healthCheck.attempts);
      hostNames = hosts.names;
      r.planned(planBatches(hosts.names, input.serial), hosts.hasMigrate);
      progress.update([
        { key: OpsflowService, value: input.service },
        { key: OpsflowPhase, value: 'resolving' },
      ]);

      // ---- resolve once: every host gets this commit, whatever the branch does meanwhile
      ({ commit } = await resolveStep(input.ref).resolveDeployRef({ service: input.service, ref: input.ref }));
      release = releaseName(new Date(wf.workflowInfo().runStartTime), commit);
      r.resolved(commit, release);
      progress.update([
        { key: OpsflowCommit, value: commit },
        { key: OpsflowPhase, value: 'deploying' },
      ]);
    }

    const ctx: SagaContext = {
      run: r,
      controls,
      approvalRule: input.approvalRule,
      show: () => progress.show(),
      tell: teller(input.notify),
    };
    const migrateOnce = async (host: string) => {
      if (r.status.migrations !== 'pending') return;
      r.setPhase('migrating');
      progress.show();
      await migrateStep(host).runMigrations({ service: input.service, host, release });
      r.migrated();
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

    // Between batches, a long history hands over to a new run with the state (bounded history).
    const continueIfLong = async (nextBatch: number) => {
      if (!historyIsLong(input.maxHistoryEvents) || !wf.patched(DEPLOY_CONTINUE_AS_NEW)) return;
      r.note(`history is long: continuing as new before batch ${nextBatch + 1}/${r.status.batches.length}`);
      await continueAsNewWith<typeof deployWorkflow>(raw, r.carry(nextBatch, controls.carry()));
    };
    // Between hosts of a fleet rollback the same, carrying the stop reason and the hosts already back.
    const continueRollbackIfLong = async () => {
      if (!historyIsLong(input.maxHistoryEvents) || !wf.patched(FLEET_ROLLBACK_CONTINUE_AS_NEW)) return;
      r.note(`history is long: continuing the fleet rollback as new (${r.fleetRollbackLeft().length} hosts left)`);
      await continueAsNewWith<typeof deployWorkflow>(raw, r.carry(r.status.batches.length, controls.carry()));
    };
    // A run continued during the fleet rollback has no batch left: it goes straight back to it.
    const stopped =
      r.fleetRollbackReason ?? (await runBatches(r, ctx, input, plan, carried?.nextBatch ?? 0, continueIfLong));
    if (stopped) {
      if (input.rollbackFleetOnFailure) await rollbackUpgraded(r, ctx, input, stopped, continueRollbackIfLong);
      r.setPhase('stopped');
      progress.update([{ key: OpsflowPhase, value: 'stopped' }]);
      await ctx.tell('stopped', 'critical', `Deploy of ${input.service} stopped`, `${stopped}\n\n${r.details()}`);
      throw wf.ApplicationFailure.nonRetryable(`deploy of ${input.service} stopped: ${stopped}`, 'DeployStopped');
    }

    // ---- success only: old releases go
    r.setPhase('pruning');
    progress.show();
    for (const host of hostNames)
      if (r.status.hosts[host].state === 'done')
        await pruneStep(host).pruneHostReleases({
          service: input.service,
          host,
          keep: input.keepReleases,
          protect: [release],
        });
    r.setPhase('done');
    progress.update([{ key: OpsflowPhase, value: 'done' }]);
    await ctx.tell('done', 'info', `Deploy of ${input.service} done: ${commit.slice(0, 12)}`, r.details());
    return r.status;
  });
}

export async function rollbackDeployWorkflow(
  raw: RollbackDeployInputRaw,
  carried?: DeployCarry,
): Promise<DeployStatus> {
  const ending = new RunEnding();
  let run: DeployRun | undefined;
  ending.onEnd(({ kind }) => {
    run?.setPhase(kind === 'cancelled' ? 'cancelled' : 'failed');
    return `rollback of ${raw?.service ?? '?'}`;
  });
  return ending.run(async () => {
    const input = parseInput(rollbackDeployInput, raw, 'rollbackDeployWorkflow');
    requireLockId(input.service);
    run = carried
      ? DeployRun.resume(carried)
      : new DeployRun({ kind: 'rollback', service: input.service, budget: input.maxFailPercent });
    const r = run;
    const progress = new Progress(() => r.details(wf.workflowInfo().workflowId), {
      key: OpsflowPhase,
      paused: () => r.pauseHolds,
      state: () => r.status.phase,
    });
    const controls = installHandlers(r, () => progress.pauseChanged(), carried?.operator);
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
      const hosts = await fleetHosts(input.service, input.hosts, input.healthCheck.attempts);
      r.planned(planBatches(hosts.names, input.serial), false);
      progress.update([
        { key: OpsflowService, value: input.service },
        { key: OpsflowPhase, value: 'rolling-back' },
      ]);
      // Every host's target is found before the first switch: the previous complete release on that host.
      targets = {};
      for (const host of hosts.names) {
        const t = await targetStep(host).hostRollbackTarget({ service: input.service, host, release: input.release });
        if (!t.release)
          throw wf.ApplicationFailure.nonRetryable(`${host}: nothing to roll back to: ${t.reason}`, 'NoRollbackTarget');
        targets[host] = t.release;
      }
    }
    const ctx: SagaContext = {
      run: r,
      controls,
      approvalRule: input.approvalRule,
      show: () => progress.show(),
      tell: teller(input.notify),
    };
    const plan = (host: string): SagaPlan => ({
      service: input.service,
      host,
      release: targets[host],
      health: input.healthCheck,
      drainTimeout: input.drainTimeout,
    });
    // Between batches, a long history hands over to a new run with the state (bounded history).
    const continueIfLong = async (nextBatch: number) => {
      if (!historyIsLong(input.maxHistoryEvents) || !wf.patched(ROLLBACK_CONTINUE_AS_NEW)) return;
      r.note(`history is long: continuing as new before batch ${nextBatch + 1}/${r.status.batches.length}`);
      await continueAsNewWith<typeof rollbackDeployWorkflow>(raw, r.carry(nextBatch, controls.carry(), targets));
    };
    const stopped = await runBatches(r, ctx, input, plan, carried?.nextBatch ?? 0, continueIfLong);
    if (stopped)
      throw wf.ApplicationFailure.nonRetryable(`rollback of ${input.service} stopped: ${stopped}`, 'DeployStopped');
    r.setPhase('done');
    progress.update([{ key: OpsflowPhase, value: 'done' }]);
    return r.status;
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

/** The hosts of the service (all, in config order, or those named), checked against the worker's config. */
async function fleetHosts(
  service: string,
  named: string[] | undefined,
  attempts: number,
): Promise<{ names: string[]; hasMigrate: boolean }> {
  return planning.deployFleet({ service, hosts: named, attempts });
}

/** Batches in order, sagas of a batch side by side; returns why it stopped, or undefined. */
async function runBatches(
  r: DeployRun,
  ctx: SagaContext,
  { approval, approvalRule }: { approval: 'none' | 'first-host' | 'each-batch'; approvalRule?: ApprovalRule },
  plan: (host: string) => SagaPlan,
  first = 0,
  beforeNextBatch: (next: number) => Promise<void> = async () => {},
): Promise<string | undefined> {
  const batches = r.status.batches;
  for (let i = first; i < batches.length; i++) {
    if (i > first) await beforeNextBatch(i);
    if (ctx.controls.paused) {
      r.setPhase('paused');
      ctx.show();
      await ctx.controls.waitWhilePaused();
    }
    if (approval === 'each-batch' || (approval === 'first-host' && i === 0)) {
      const what = `batch ${i + 1}/${batches.length} (${batches[i].join(', ')})`;
      r.setPhase('awaiting-approval');
      r.awaitApproval(what);
      ctx.show();
      const wait = ctx.controls.takeApproval(
        i + 1,
        undefined,
        approvalRule,
        approvalWaitText(what, wf.workflowInfo().workflowId),
      );
      // takeApproval knows the step and rule once called: the status shows who has approved so far.
      r.status.approvals = ctx.controls.approvalProgress();
      ctx.show();
      const outcome = await wait;
      delete r.status.approvals;
      r.awaitApproval(undefined);
      if (outcome === 'aborted') return ctx.controls.abortMessage(`before batch ${i + 1}`);
    }
    if (ctx.controls.aborted) return ctx.controls.abortMessage(`before batch ${i + 1}`);
    r.startBatch(i);
    ctx.show();
    const outcomes = await Promise.all(batches[i].map((host) => hostSaga(plan(host), ctx, i + 1)));
    const failed = batches[i].filter((_, k) => !outcomes[k].ok);
    const flapped = batches[i].filter((_, k) => {
      const o = outcomes[k];
      return !o.ok && o.flapping;
    });
    // patched only when a host flapped: a history without a flap replays without the marker.
    const verdict = r.endBatch(i, failed, flapped.length > 0 && wf.patched(FLAP_STOPS_FLEET) ? flapped : []);
    ctx.show();
    if (verdict.stop) return verdict.reason;
  }
  return undefined;
}

/**
 * `rollbackFleetOnFailure`: the hosts this deploy upgraded go back through the same saga, one at a
 * time; between two of them `beforeNextHost` may hand over to a new run (at least one host per run).
 */
async function rollbackUpgraded(
  r: DeployRun,
  ctx: SagaContext,
  input: { service: string; healthCheck: SagaPlan['health']; drainTimeout: number },
  reason: string,
  beforeNextHost: () => Promise<void>,
): Promise<void> {
  r.startFleetRollback(reason);
  ctx.show();
  const left = r.fleetRollbackLeft();
  for (const [i, { host, release }] of left.entries()) {
    if (i > 0) await beforeNextHost();
    await hostSaga(
      { service: input.service, host, release, health: input.healthCheck, drainTimeout: input.drainTimeout },
      ctx,
      0,
    );
    r.fleetHostBack(host);
  }
}

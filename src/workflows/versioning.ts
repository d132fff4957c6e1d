import type { VersioningBehavior, WorkerDeploymentVersion, WorkflowDefinitionOptions } from '@temporalio/common';

/**
 * How each workflow meets a new opsflow version when workers run as a Worker Deployment
 * (docs/upgrading.md). PINNED: the run finishes on the build that started it. Short runs are pinned:
 * they end within minutes, so the old build drains quickly, and their code never has to replay a
 * history another build wrote. AUTO_UPGRADE: the run's next workflow task goes to the current build.
 * Long runs auto-upgrade: pinned, a day-long cutover would keep the old build's workers alive for the
 * day and a fixed step would never reach it; the price is that each change to them must replay every
 * history in flight (patched(), checked by test/replay).
 */
export const versioningBehaviors: Record<string, { behavior: VersioningBehavior; why: string }> = {
  healthCheckWorkflow: { behavior: 'PINNED', why: 'one round of checks, seconds to minutes' },
  diagnosticsWorkflow: { behavior: 'PINNED', why: 'one collection of figures, minutes' },
  dailyReportWorkflow: { behavior: 'PINNED', why: 'one report, minutes' },
  backupWorkflow: { behavior: 'PINNED', why: 'one dump and its verification, bounded by the dump' },
  incidentDigestWorkflow: { behavior: 'PINNED', why: 'one message listing open P3 incidents' },
  phasedRolloutWorkflow: { behavior: 'AUTO_UPGRADE', why: 'hours of soaking between phases' },
  dataMigrationWorkflow: { behavior: 'AUTO_UPGRADE', why: 'hours to days of copying, continues as new' },
  incidentResponseWorkflow: { behavior: 'AUTO_UPGRADE', why: 'open until someone resolves the incident' },
  performanceBaselineWorkflow: { behavior: 'AUTO_UPGRADE', why: 'samples over a window of hours' },
  readinessCheckWorkflow: { behavior: 'AUTO_UPGRADE', why: 'a gate open until its deadline, often days' },
  goLiveWorkflow: { behavior: 'AUTO_UPGRADE', why: 'stages over a go-live day' },
  userCutoverWorkflow: { behavior: 'AUTO_UPGRADE', why: 'batches scheduled over a day or more' },
  deployWorkflow: { behavior: 'AUTO_UPGRADE', why: 'batches of hosts with soak windows and approvals' },
  rollbackDeployWorkflow: { behavior: 'AUTO_UPGRADE', why: 'a fleet-wide rollback, batch by batch' },
};

/**
 * A run's definition options on the worker that runs it: its behaviour when that worker is a
 * Deployment version, none when it is unversioned (an unversioned worker's version has a build id,
 * its bundle's checksum, but no deployment name). The same bundle runs both ways, and the server
 * refuses a workflow task that names a behaviour from a worker without deployment options.
 */
export function definitionOptions(
  name: string,
  version: WorkerDeploymentVersion | undefined,
): WorkflowDefinitionOptions {
  const entry = versioningBehaviors[name];
  if (!entry) throw new Error(`${name} has no versioning behaviour in src/workflows/versioning.ts`);
  return version?.deploymentName ? { versioningBehavior: entry.behavior } : {};
}

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { WorkflowService } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { ValidationError } from '../config/errors';

/** Which Worker Deployment version a worker is: `OPSFLOW_WORKER_DEPLOYMENT` names the deployment. */
export interface WorkerDeploymentSettings {
  deploymentName: string;
  buildId: string;
}

/** The package version: what the image was built from, and so the build id when none is given. */
export function packageVersion(): string {
  // src/client/ when run from source, dist/src/client/ when compiled: the nearest opsflow package.json.
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version: string };
    if (pkg.name === 'opsflow') return pkg.version;
  }
  throw new ValidationError(
    'OPSFLOW_BUILD_ID',
    'OPSFLOW_BUILD_ID is not set and no opsflow package.json was found to take the version from',
  );
}

// The server joins name and build id with a dot in older APIs, so a name may not hold one.
const DEPLOYMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
const BUILD_ID = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/;

export function checkBuildId(buildId: string, field = 'build id'): string {
  if (!BUILD_ID.test(buildId))
    throw new ValidationError(
      field,
      `${field} "${buildId}" must be 1-100 letters, digits, ".", "_", "+" or "-", starting with a letter or digit`,
    );
  return buildId;
}

/**
 * Versioning is on when `OPSFLOW_WORKER_DEPLOYMENT` names a deployment (the compose stack and the
 * Kubernetes base set it); the build id is `OPSFLOW_BUILD_ID`, else the package version. Unset, the
 * worker is unversioned, as a developer's single worker is.
 */
export function workerDeploymentSettings(env: NodeJS.ProcessEnv = process.env): WorkerDeploymentSettings | undefined {
  const name = env.OPSFLOW_WORKER_DEPLOYMENT?.trim();
  if (!name) return undefined;
  if (!DEPLOYMENT_NAME.test(name))
    throw new ValidationError(
      'OPSFLOW_WORKER_DEPLOYMENT',
      `OPSFLOW_WORKER_DEPLOYMENT "${name}" must be 1-100 letters, digits, "_" or "-" (no dots)`,
    );
  const buildId = env.OPSFLOW_BUILD_ID?.trim() || packageVersion();
  return { deploymentName: name, buildId: checkBuildId(buildId, 'OPSFLOW_BUILD_ID') };
}

const { WorkerDeploymentVersionStatus: VS, VersionDrainageStatus: DS } = temporal.api.enums.v1;
const versionStatus: Record<number, string> = {
  [VS.WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE]: 'inactive',
  [VS.WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT]: 'current',
  [VS.WORKER_DEPLOYMENT_VERSION_STATUS_RAMPING]: 'ramping',
  [VS.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING]: 'draining',
  [VS.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINED]: 'drained',
};
const drainage: Record<number, string> = {
  [DS.VERSION_DRAINAGE_STATUS_DRAINING]: 'draining',
  [DS.VERSION_DRAINAGE_STATUS_DRAINED]: 'drained',
};

interface VersionStatus {
  buildId: string;
  /** current, ramping, draining (pinned runs still open on it), drained (safe to stop), inactive */
  status: string;
  /** Set once a version stopped being current or ramping: whether pinned runs remain on it. */
  drainage?: string;
  createdAt?: string;
}

export interface DeploymentStatus {
  deploymentName: string;
  current?: string;
  ramping?: { buildId: string; percent: number };
  versions: VersionStatus[];
}

const iso = (t?: { seconds?: unknown; nanos?: number | null } | null) =>
  t?.seconds !== undefined && t?.seconds !== null
    ? new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString()
    : undefined;

/** Thrown when the deployment is not known to the server: no worker of it has polled yet. */
export class DeploymentNotFound extends Error {}

const isNotFound = (err: unknown) => (err as { code?: number })?.code === 5;

export async function describeDeployment(
  service: WorkflowService,
  namespace: string,
  deploymentName: string,
): Promise<DeploymentStatus> {
  let res: temporal.api.workflowservice.v1.IDescribeWorkerDeploymentResponse;
  try {
    res = await service.describeWorkerDeployment({ namespace, deploymentName });
  } catch (err) {
    if (isNotFound(err))
      throw new DeploymentNotFound(
        `no worker deployment "${deploymentName}" in namespace ${namespace}: no worker with OPSFLOW_WORKER_DEPLOYMENT=${deploymentName} has polled yet`,
      );
    throw err;
  }
  const info = res.workerDeploymentInfo;
  const routing = info?.routingConfig;
  const ramping = routing?.rampingDeploymentVersion?.buildId;
  return {
    deploymentName,
    current: routing?.currentDeploymentVersion?.buildId || undefined,
    ramping: ramping ? { buildId: ramping, percent: routing?.rampingVersionPercentage ?? 0 } : undefined,
    versions: (info?.versionSummaries ?? []).map((v) => {
      const d = v.drainageInfo?.status ?? v.drainageStatus;
      return {
        buildId: v.deploymentVersion?.buildId ?? '',
        status: versionStatus[v.status ?? 0] ?? 'unknown',
        ...(d && drainage[d] ? { drainage: drainage[d] } : {}),
        ...(iso(v.createTime) ? { createdAt: iso(v.createTime) } : {}),
      };
    }),
  };
}

/** A build id the deployment does not know, said with the ones it does. */
async function requireVersion(
  service: WorkflowService,
  namespace: string,
  deploymentName: string,
  buildId: string,
): Promise<void> {
  const status = await describeDeployment(service, namespace, deploymentName);
  if (!status.versions.some((v) => v.buildId === buildId)) {
    const known = status.versions.map((v) => v.buildId).join(', ') || 'none';
    throw new ValidationError(
      'build-id',
      `build id "${buildId}" has no worker in deployment "${deploymentName}" (known: ${known}): start a worker with OPSFLOW_BUILD_ID=${buildId} first`,
    );
  }
}

/** Sends `percent` % of new runs (and auto-upgrading runs' next tasks) to `buildId`; the rest stay on the current version. */
export async function rampVersion(
  service: WorkflowService,
  namespace: string,
  deploymentName: string,
  buildId: string,
  percent: number,
  identity = 'opsflow',
): Promise<void> {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100)
    throw new ValidationError('--percent', `--percent must be a number from 0 to 100, got ${percent}`);
  await requireVersion(service, namespace, deploymentName, buildId);
  await service.setWorkerDeploymentRampingVersion({
    namespace,
    deploymentName,
    buildId,
    percentage: percent,
    identity,
  });
}

/** Makes `buildId` the current version: every new run and every auto-upgrading run goes to it; pinned runs stay where they are. */
export async function promoteVersion(
  service: WorkflowService,
  namespace: string,
  deploymentName: string,
  buildId: string,
  identity = 'opsflow',
): Promise<void> {
  await requireVersion(service, namespace, deploymentName, buildId);
  await service.setWorkerDeploymentCurrentVersion({ namespace, deploymentName, buildId, identity });
}

import { readFile } from 'node:fs/promises';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type WorkerOptions,
  type LogLevel,
} from '@temporalio/worker';
import type { OpsflowConfig } from './config/schema';
import { describeConfig, findConfig, readConfigFile } from './config/load';
import { ValidationError } from './config/errors';
import { recordConfiguredSecrets, scrubSecrets, SecretError } from './config/secrets';
import { incidentStoreWarning } from './config/sections/incident';
import { createActivities } from './activities';
import { ScrubbingLogger, scrubbingActivityInterceptor } from './activities/secret-scrubbing';
import { connectionOptions, TASK_QUEUE, temporalSettings, type TemporalSettings } from './client/connection';
import {
  ensureSearchAttributes,
  registerSearchAttributesSetting,
  SearchAttributesMissing,
  SearchAttributesUnchecked,
} from './client/search-attributes';
import { bundleEncodesFailures, dataConverterFor } from './client/codec/data-converter';
import { checkTools } from './activities/tools-check';
import {
  describeDeployment,
  DeploymentNotFound,
  workerDeploymentSettings,
  type WorkerDeploymentSettings,
} from './client/worker-deployment';

export interface OpsflowWorkerOptions {
  config: OpsflowConfig;
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  /** A prebuilt bundle (tests, production images); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Run as this version of a Worker Deployment (docs/upgrading.md); unset, the worker is unversioned. */
  deployment?: WorkerDeploymentSettings;
  /** Extra options (identity, cache size, ...). */
  overrides?: Partial<WorkerOptions>;
}

/**
 * With encryption on, failure texts are encrypted only when the workflow code carries the encoding
 * failure converter, which is chosen when the code is bundled: a prebuilt bundle without it would
 * leave every workflow failure's message in clear, so it is refused, saying how to build one.
 */
async function checkBundleForEncryption(bundle: OpsflowWorkerOptions['workflowBundle']): Promise<void> {
  if (!bundle) return;
  const code = 'code' in bundle ? bundle.code : await readFile(bundle.codePath, 'utf8');
  if (!bundleEncodesFailures(code)) {
    const where = 'codePath' in bundle ? ` ${bundle.codePath}` : '';
    throw new ValidationError(
      'workflow bundle',
      `the workflow bundle${where} was built without the encoding failure converter, so workflow failure messages would stay in clear while encryption is on: ` +
        'build it with `npm run bundle -- --encrypted <file>`, or unset OPSFLOW_WORKFLOW_BUNDLE to bundle at start',
    );
  }
}

/** The opsflow worker: every workflow, and the activities built from the operator config. */
export async function createWorker(o: OpsflowWorkerOptions): Promise<Worker> {
  const namespace = o.namespace ?? 'default';
  const dataConverter = dataConverterFor(o.config, namespace);
  if (dataConverter) await checkBundleForEncryption(o.workflowBundle);
  // Known before the first activity runs, so that no text leaving this worker can carry one.
  recordConfiguredSecrets(o.config);
  const { interceptors, ...overrides } = o.overrides ?? {};
  return Worker.create({
    connection: o.connection,
    namespace,
    taskQueue: o.taskQueue ?? TASK_QUEUE,
    ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : { workflowsPath: require.resolve('./workflows') }),
    ...(dataConverter ? { dataConverter } : {}),
    activities: createActivities(o.config),
    ...(o.deployment
      ? {
          workerDeploymentOptions: {
            version: { deploymentName: o.deployment.deploymentName, buildId: o.deployment.buildId },
            useWorkerVersioning: true as const,
            // Every workflow declares its own (src/workflows/versioning.ts) for the runs it starts; a run an
            // unversioned worker started declares none, and moves on with each new current build.
            defaultVersioningBehavior: 'AUTO_UPGRADE' as const,
          },
        }
      : {}),
    // Workflow state is kept small; 500 cached runs is far under the memory of one container.
    maxCachedWorkflows: 500,
    // In-flight activities get this long to finish on SIGINT/SIGTERM before they are cancelled.
    shutdownGraceTime: '30s',
    ...overrides,
    // Every activity's result and failure passes through the scrubber, whatever else is added.
    interceptors: { ...interceptors, activity: [scrubbingActivityInterceptor(), ...(interceptors?.activity ?? [])] },
  });
}

function installRuntime(env: NodeJS.ProcessEnv) {
  const metricsPort = env.OPSFLOW_METRICS_PORT ?? '9464';
  const level = (env.OPSFLOW_LOG_LEVEL ?? 'INFO').toUpperCase() as LogLevel;
  Runtime.install({
    logger: new ScrubbingLogger(new DefaultLogger(level)),
    telemetryOptions:
      metricsPort === '0' || metricsPort === 'off'
        ? undefined
        : { metrics: { prometheus: { bindAddress: `${env.OPSFLOW_METRICS_HOST ?? '127.0.0.1'}:${metricsPort}` } } },
  });
  return metricsPort;
}

/**
 * Whether the namespace has opsflow's search attributes (registering them when allowed). Polling
 * without them would leave every run that sets one Running forever, so a namespace that lacks
 * them is refused with what to do; one whose attributes this worker may not list gets a warning.
 */
async function searchAttributesReady(
  connection: NativeConnection,
  settings: TemporalSettings,
  register: boolean,
): Promise<boolean> {
  try {
    const registered = await ensureSearchAttributes(connection.operatorService, settings, { register });
    if (registered.length)
      console.log(
        `opsflow worker: registered search attributes ${registered.join(', ')} in namespace ${settings.namespace}`,
      );
    return true;
  } catch (err) {
    if (err instanceof SearchAttributesUnchecked) {
      console.warn(`opsflow worker: warning: ${err.message}`);
      return true;
    }
    if (!(err instanceof SearchAttributesMissing)) throw err;
    console.error(`opsflow worker: ${err.message}`);
    return false;
  }
}

/**
 * A deployment with no current version routes its tasks to unversioned workers only, so the first
 * versioned worker of a fresh deployment would poll and get nothing: it makes its own version
 * current. Once there is a current version, a new build takes traffic only when an operator ramps
 * or promotes it (`opsflow workers ramp`). The version exists once this worker has polled, hence
 * the retries.
 */
async function adoptIfNoCurrentVersion(
  connection: NativeConnection,
  namespace: string,
  d: WorkerDeploymentSettings,
  stopped: () => boolean,
): Promise<void> {
  const service = connection.workflowService;
  for (let attempt = 0; attempt < 60 && !stopped(); attempt++) {
    try {
      const status = await describeDeployment(service, namespace, d.deploymentName);
      if (status.current) return;
      if (status.versions.some((v) => v.buildId === d.buildId)) {
        await service.setWorkerDeploymentCurrentVersion({
          namespace,
          deploymentName: d.deploymentName,
          buildId: d.buildId,
          identity: `opsflow worker ${d.buildId}`,
        });
        console.log(
          `opsflow worker: deployment ${d.deploymentName} had no current version; ${d.buildId} is now current`,
        );
        return;
      }
    } catch (err) {
      if (!(err instanceof DeploymentNotFound))
        console.warn(
          `opsflow worker: warning: could not check deployment ${d.deploymentName}: ${(err as Error).message}`,
        );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function main() {
  const env = process.env;
  let config: OpsflowConfig;
  let settings: TemporalSettings;
  let registerAttributes: boolean;
  let deployment: WorkerDeploymentSettings | undefined;
  try {
    const found = findConfig(process.argv[2], env);
    config = readConfigFile(found.path);
    // First line: which config this worker acts on, or that it has none and what that means.
    console.log(`opsflow worker: ${describeConfig(found, config)}`);
    const noStore = incidentStoreWarning(config.incident, config.schedules);
    if (noStore) console.warn(`opsflow worker: warning: ${noStore}`);
    settings = temporalSettings(env);
    registerAttributes = registerSearchAttributesSetting(env);
    deployment = workerDeploymentSettings(env);
  } catch (err) {
    // An invalid config must stop the worker before it polls anything.
    console.error(`opsflow worker: ${err instanceof ValidationError ? err.message : (err as Error).message}`);
    process.exit(1);
  }
  // A missing tool stops only the features that run it: said now, not at the first deploy or backup.
  for (const warning of await checkTools(config, env)) console.warn(`opsflow worker: warning: ${warning}`);
  const metricsPort = installRuntime(env);
  const connection = await NativeConnection.connect(connectionOptions(settings));
  if (!(await searchAttributesReady(connection, settings, registerAttributes))) {
    await connection.close();
    process.exit(1);
  }
  const bundlePath = env.OPSFLOW_WORKFLOW_BUNDLE;
  let worker: Worker;
  try {
    worker = await createWorker({
      config,
      connection,
      namespace: settings.namespace,
      workflowBundle: bundlePath ? { codePath: bundlePath } : undefined,
      deployment,
    });
  } catch (err) {
    // A key that cannot be had or a bundle that would leak failure texts: said in one line, no stack.
    if (!(err instanceof ValidationError || err instanceof SecretError)) throw err;
    console.error(`opsflow worker: ${err.message}`);
    await connection.close();
    process.exit(1);
  }
  if (config.encryption)
    console.log(`opsflow worker: payloads and failure texts encrypted with key "${config.encryption.current}"`);
  console.log(
    `opsflow worker: task queue ${worker.options.taskQueue} on ${settings.address} namespace ${settings.namespace}` +
      (metricsPort !== '0' && metricsPort !== 'off' ? `, metrics on :${metricsPort}/metrics` : '') +
      (deployment ? `, deployment ${deployment.deploymentName} build ${deployment.buildId}` : ''),
  );
  // Worker.run stops polling on SIGINT/SIGTERM, lets in-flight tasks finish (shutdownGraceTime), then returns.
  const running = worker.run();
  let stopped = false;
  const adopting = deployment
    ? adoptIfNoCurrentVersion(connection, settings.namespace, deployment, () => stopped)
    : undefined;
  await running.finally(() => (stopped = true));
  await adopting;
  await connection.close();
  console.log('opsflow worker: stopped');
}

if (require.main === module) {
  main().catch((err) => {
    console.error('opsflow worker:', scrubSecrets(err instanceof Error ? (err.stack ?? err.message) : String(err)));
    process.exit(1);
  });
}

import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions, type LogLevel } from '@temporalio/worker';
import type { OpsflowConfig } from './config/schema';
import { describeConfig, findConfig, readConfigFile } from './config/load';
import { ValidationError } from './config/errors';
import { incidentStoreWarning } from './config/sections/incident';
import { createActivities } from './activities';
import { connectionOptions, TASK_QUEUE, temporalSettings, type TemporalSettings } from './client/connection';
import { ensureSearchAttributes, registerSearchAttributesSetting, SearchAttributesMissing, SearchAttributesUnchecked } from './client/search-attributes';

export interface OpsflowWorkerOptions {
  config: OpsflowConfig;
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  /** A prebuilt bundle (tests, production images); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Extra options (identity, cache size, ...). */
  overrides?: Partial<WorkerOptions>;
}

/** The opsflow worker: every workflow, and the activities built from the operator config. */
export async function createWorker(o: OpsflowWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace ?? 'default',
    taskQueue: o.taskQueue ?? TASK_QUEUE,
    ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : { workflowsPath: require.resolve('./workflows') }),
    activities: createActivities(o.config),
    // Workflow state is kept small; 500 cached runs is far under the memory of one container.
    maxCachedWorkflows: 500,
    // In-flight activities get this long to finish on SIGINT/SIGTERM before they are cancelled.
    shutdownGraceTime: '30s',
    ...o.overrides,
  });
}

function installRuntime(env: NodeJS.ProcessEnv) {
  const metricsPort = env.OPSFLOW_METRICS_PORT ?? '9464';
  const level = (env.OPSFLOW_LOG_LEVEL ?? 'INFO').toUpperCase() as LogLevel;
  Runtime.install({
    logger: new DefaultLogger(level),
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
async function searchAttributesReady(connection: NativeConnection, settings: TemporalSettings, register: boolean): Promise<boolean> {
  try {
    const registered = await ensureSearchAttributes(connection.operatorService, settings, { register });
    if (registered.length) console.log(`opsflow worker: registered search attributes ${registered.join(', ')} in namespace ${settings.namespace}`);
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

async function main() {
  const env = process.env;
  let config: OpsflowConfig;
  let settings: TemporalSettings;
  let registerAttributes: boolean;
  try {
    const found = findConfig(process.argv[2], env);
    config = readConfigFile(found.path);
    // First line: which config this worker acts on, or that it has none and what that means.
    console.log(`opsflow worker: ${describeConfig(found, config)}`);
    const noStore = incidentStoreWarning(config.incident, config.schedules);
    if (noStore) console.warn(`opsflow worker: warning: ${noStore}`);
    settings = temporalSettings(env);
    registerAttributes = registerSearchAttributesSetting(env);
  } catch (err) {
    // An invalid config must stop the worker before it polls anything.
    console.error(`opsflow worker: ${err instanceof ValidationError ? err.message : (err as Error).message}`);
    process.exit(1);
  }
  const metricsPort = installRuntime(env);
  const connection = await NativeConnection.connect(connectionOptions(settings));
  if (!(await searchAttributesReady(connection, settings, registerAttributes))) {
    await connection.close();
    process.exit(1);
  }
  const bundlePath = env.OPSFLOW_WORKFLOW_BUNDLE;
  const worker = await createWorker({
    config,
    connection,
    namespace: settings.namespace,
    workflowBundle: bundlePath ? { codePath: bundlePath } : undefined,
  });
  console.log(
    `opsflow worker: task queue ${worker.options.taskQueue} on ${settings.address} namespace ${settings.namespace}` +
      (metricsPort !== '0' && metricsPort !== 'off' ? `, metrics on :${metricsPort}/metrics` : ''),
  );
  // Worker.run stops polling on SIGINT/SIGTERM, lets in-flight tasks finish (shutdownGraceTime), then returns.
  await worker.run();
  await connection.close();
  console.log('opsflow worker: stopped');
}

if (require.main === module) {
  main().catch((err) => {
    console.error('opsflow worker:', err);
    process.exit(1);
  });
}

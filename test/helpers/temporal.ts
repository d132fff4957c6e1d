import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { executable, temporalCliPath, temporalTestServerPath } from '../../scripts/temporal-binaries';
import { opsflowSearchAttributes } from '../../src/domain/search-attributes';
import { workflowBundleKey } from './workflow-bundle-key';
import { failureConverterPath } from '../../src/client/codec/data-converter';

const root = resolve(__dirname, '../..');
const cacheDir = join(root, '.tools', 'cache');

let runtimeInstalled = false;
/** Quiet the SDK's logs in tests: errors only (failed attempts that a test provokes log warnings). */
function installRuntime() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // already installed by an earlier file in this process
  }
}

/** The time-skipping test server, from the project-local binary. One per test file. */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: executable(temporalTestServerPath()) },
  });
  // The test server knows no custom search attributes until they are added.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(opsflowSearchAttributes.map((k) => [k.name, 2 /* KEYWORD */])),
  });
  return env;
}

export interface DevServerOptions {
  /** false: a server that, like a fresh cluster, knows none of opsflow's search attributes. */
  searchAttributes?: boolean;
  /** More namespaces besides `default`. */
  namespaces?: string[];
  /**
   * A dev server process on a SQLite file (test/helpers/temporal-process.ts) instead of the SDK's
   * in-memory one: `Stack.restartServer()` can kill it -9 and start it again with what it held.
   */
  persistent?: boolean;
  /** Server dynamic config, e.g. {"matching.wv.VersionDrainageStatusRefreshInterval": "1s"}. */
  dynamicConfig?: Record<string, string | number | boolean>;
}

/**
 * The real Temporal dev server (in memory), by default with opsflow's search attributes registered;
 * with `existing`, an environment on a server already running at that address (its owner stops it).
 */
export async function devServerEnv(opts: DevServerOptions = {}, existing?: string): Promise<TestWorkflowEnvironment> {
  installRuntime();
  if (existing) return TestWorkflowEnvironment.createFromExistingServer({ address: existing });
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: executable(temporalCliPath()),
      ip: '127.0.0.1',
      searchAttributes: opts.searchAttributes === false ? [] : opsflowSearchAttributes,
      extraArgs: [
        ...(opts.namespaces ?? []).flatMap((ns) => ['--namespace', ns]),
        ...Object.entries(opts.dynamicConfig ?? {}).flatMap(([k, v]) => [
          '--dynamic-config-value',
          `${k}=${JSON.stringify(v)}`,
        ]),
      ],
      log: { format: 'pretty', level: 'error' },
    },
  });
}

/** encrypted: built with the failure converter that encryption needs (`npm run bundle -- --encrypted`). */
export interface BundleVariant {
  encrypted?: boolean;
}
// The failure converter is outside what the bundle key reads (src/workflows' imports): its text keys the variant.
const variantSuffix = (v: BundleVariant) =>
  v.encrypted
    ? `-encrypted-${createHash('sha256').update(readFileSync(failureConverterPath)).digest('hex').slice(0, 12)}`
    : '';

/**
 * The workflow bundle, built once and cached on disk by `workflowBundleKey`, so a test run bundles
 * (webpack, several seconds) only when the code in the bundle or the locked dependencies changed.
 */
export async function workflowBundle(opts: BundleVariant = {}): Promise<WorkflowBundleWithSourceMap> {
  const key = workflowBundleKey(root);
  const file = join(cacheDir, `workflow-bundle-${key}${variantSuffix(opts)}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    logger: new DefaultLogger('WARN'),
    ...(opts.encrypted ? { failureConverterPath } : {}),
  });
  mkdirSync(cacheDir, { recursive: true });
  // Written whole under another name first: a parallel jest process may read the cache meanwhile
  // (a clean clone's first files all bundle at once; one read a half-written file as JSON).
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, JSON.stringify(bundle));
  renameSync(partial, file);
  return bundle;
}

/**
 * The workflow bundle as a file, for worker processes (`OPSFLOW_WORKFLOW_BUNDLE`), as production
 * images run it: a worker process then starts without a webpack run of its own.
 */
export async function workflowBundleFile(opts: BundleVariant = {}): Promise<string> {
  const file = join(cacheDir, `workflow-bundle-${workflowBundleKey(root)}${variantSuffix(opts)}.js`);
  if (!existsSync(file)) {
    const code = (await workflowBundle(opts)).code;
    // written whole under another name first: parallel jest processes may race for the same file
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, code);
    renameSync(partial, file);
  }
  return file;
}

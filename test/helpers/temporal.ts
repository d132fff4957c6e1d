import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { executable, temporalCliPath, temporalTestServerPath } from '../../scripts/temporal-binaries';
import { opsflowSearchAttributes } from '../../src/domain/search-attributes';

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

/** The real Temporal dev server (in memory) with opsflow's search attributes registered. */
export async function devServerEnv(): Promise<TestWorkflowEnvironment> {
  installRuntime();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: executable(temporalCliPath()),
      ip: '127.0.0.1',
      searchAttributes: opsflowSearchAttributes,
      log: { format: 'pretty', level: 'error' },
    },
  });
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/**
 * The workflow bundle, built once and cached on disk by the hash of the code it can import, so a
 * test run bundles (webpack, several seconds) only when workflow or domain code changed.
 */
export async function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  const files = ['src/workflows', 'src/domain'].flatMap((d) => sourceFiles(join(root, d))).sort();
  const hash = createHash('sha256');
  for (const f of files) hash.update(f).update(readFileSync(f));
  const key = hash.digest('hex').slice(0, 16);
  const file = join(cacheDir, `workflow-bundle-${key}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    logger: new DefaultLogger('WARN'),
  });
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(file, JSON.stringify(bundle));
  return bundle;
}

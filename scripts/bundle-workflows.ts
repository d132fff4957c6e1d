import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { failureConverterPath } from '../src/client/codec/data-converter';

/**
 * Prebundles the workflow code for production (the Docker image): the worker then starts without
 * webpack, using OPSFLOW_WORKFLOW_BUNDLE=<this file>.
 */
async function main() {
  const args = process.argv.slice(2);
  // --encrypted: with the failure converter that moves failure texts into the encrypted payload,
  // for workers whose config turns encryption on (the worker refuses a bundle without it then).
  const encrypted = args.includes('--encrypted');
  const out = resolve(args.find((a) => !a.startsWith('--')) ?? 'dist/workflow-bundle.js');
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../src/workflows'),
    ...(encrypted ? { failureConverterPath } : {}),
  });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, code);
  console.log(
    `workflow bundle${encrypted ? ' (failure texts encrypted)' : ''}: ${out} (${(code.length / 1024).toFixed(0)} KiB)`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

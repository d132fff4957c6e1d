import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { failureConverterPath } from '../../../src/client/codec/data-converter';
import { encryptionModeOn } from '../encrypted-histories';

const root = resolve(__dirname, '../../..');
const cutoverDir = join(root, 'src', 'workflows', 'cutover');

/**
 * The workflow bundle of "build B": opsflow's workflows with one cutover step changed (the cutover
 * workflow's `./rollback` import swapped for cutover-rollback-build-b.ts), written to a file for a
 * worker process (OPSFLOW_WORKFLOW_BUNDLE). In the encrypted test mode it carries the encoding
 * failure converter, as an encrypted worker requires of a prebuilt bundle.
 */
export async function buildBBundleFile(): Promise<string> {
  // webpack is the SDK's own bundler; its plugin swaps one import of one file.
  const webpack = require('webpack') as typeof import('webpack');
  const replacement = join(__dirname, 'cutover-rollback-build-b.ts');
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../../src/workflows'),
    logger: new DefaultLogger('WARN'),
    ...(encryptionModeOn() ? { failureConverterPath } : {}),
    webpackConfigHook: (config) => {
      config.plugins = [
        ...(config.plugins ?? []),
        new webpack.NormalModuleReplacementPlugin(/^\.\/rollback$/, (res: { request: string; context: string }) => {
          if (res.context === cutoverDir || res.context.endsWith(`${sep}workflows${sep}cutover`))
            res.request = replacement;
        }),
      ];
      return config;
    },
  });
  if (!code.includes('cutover-batch-start-notice'))
    throw new Error('build B bundle: the changed cutover step is not in it');
  const file = join(mkdtempSync(join(tmpdir(), 'opsflow-build-b-')), 'workflow-bundle.js');
  writeFileSync(file, code);
  return file;
}

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { workflowBundleKey, workflowSourceFiles } from '../helpers/workflow-bundle-key';

/** The cache key of the test workflow bundle changes with everything the bundle is built from. */
describe('workflow bundle cache key', () => {
  let root: string;
  const write = (rel: string, text: string) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'opsflow-bundle-key-'));
    write('package-lock.json', '{"packages":{"node_modules/@temporalio/workflow":{"version":"1.24.0"}}}');
    write('src/workflows/index.ts', "export { a } from './a';\n");
    write(
      'src/workflows/a.ts',
      "import {\n  helper,\n} from '../lib/helper';\nimport type { Activities } from '../activities';\nimport { proxyActivities } from '@temporalio/workflow';\nexport const a = helper;\n",
    );
    write('src/lib/helper.ts', "import { rule } from '../domain';\nexport const helper = rule;\n");
    write('src/domain/index.ts', 'export const rule = 1;\n');
    write('src/activities/index.ts', 'export interface Activities { x(): void }\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test('the files are the entry and its relative value imports, wherever under src/ they are', () => {
    expect(
      workflowSourceFiles(join(root, 'src/workflows/index.ts')).map((f) => f.slice(resolve(root).length + 1)),
    ).toEqual(['src/domain/index.ts', 'src/lib/helper.ts', 'src/workflows/a.ts', 'src/workflows/index.ts']);
  });

  test('a new lock file (an SDK upgrade) changes the key', () => {
    const before = workflowBundleKey(root);
    expect(workflowBundleKey(root)).toBe(before);
    write('package-lock.json', '{"packages":{"node_modules/@temporalio/workflow":{"version":"1.25.0"}}}');
    expect(workflowBundleKey(root)).not.toBe(before);
  });

  test('a change in a file the workflows import from outside src/workflows and src/domain changes the key', () => {
    const before = workflowBundleKey(root);
    write('src/lib/helper.ts', "import { rule } from '../domain';\nexport const helper = rule + 1;\n");
    expect(workflowBundleKey(root)).not.toBe(before);
  });

  test('a type-only import does not enter the bundle, so its file does not change the key', () => {
    const before = workflowBundleKey(root);
    write('src/activities/index.ts', 'export interface Activities { x(): void; y(): void }\n');
    expect(workflowBundleKey(root)).toBe(before);
  });

  test('an import that resolves to nothing is an error naming it, not a stale bundle', () => {
    write('src/workflows/index.ts', "export { a } from './a';\nexport { b } from './missing';\n");
    expect(() => workflowBundleKey(root)).toThrow(/cannot resolve \.\/missing imported by .*index\.ts/);
  });

  test('the real workflows resolve', () => {
    const files = workflowSourceFiles(resolve(__dirname, '../../src/workflows/index.ts'));
    expect(files.some((f) => f.endsWith('src/domain/incident/oncall.ts'))).toBe(true);
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { layerViolations } from '../../scripts/check-layers';

// The same check `npm run lint` runs: domain <- config <- activities <- workflows <- client.
describe('imports point one way, without cycles', () => {
  let root: string;
  const write = (files: Record<string, string>) => {
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, 'src', file)), { recursive: true });
      writeFileSync(join(root, 'src', file), text);
    }
  };
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'opsflow-layers-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test("opsflow's own source", () => {
    expect(layerViolations(join(__dirname, '../..'))).toEqual([]);
  });

  test('downward imports pass', () => {
    write({
      'domain/a.ts': 'export const a = 1;\n',
      'config/b.ts': "import { a } from '../domain/a';\nexport const b = a;\n",
      'activities/c/index.ts': "import { b } from '../../config/b';\nexport const c = b;\n",
      'workflows/d.ts': "import type { c } from '../activities/c';\nexport type D = typeof c;\n",
      'client/e.ts': "export { type D } from '../workflows/d';\n",
      'worker.ts': "import './client/e';\n",
    });
    expect(layerViolations(root)).toEqual([]);
  });

  test('a type imported from a higher layer is refused, naming both files', () => {
    write({
      'domain/a.ts': "import type { B } from '../config/b';\nexport const a = (b: B) => b;\n",
      'config/b.ts': 'export type B = string;\n',
      'activities/c.ts': "const client = require('../client/e');\nexport const c = client;\n",
      'client/e.ts': 'export const e = 1;\n',
    });
    expect(layerViolations(root)).toEqual([
      'upward import: src/activities/c.ts (activities) imports src/client/e.ts (client)',
      'upward import: src/domain/a.ts (domain) imports src/config/b.ts (config)',
    ]);
  });

  test("an adapter of a system importing a capability's folder is refused; adapters and the shared files pass", () => {
    write({
      'activities/heartbeat.ts': 'export const beat = 1;\n',
      'activities/systems/redis/index.ts': "import { beat } from '../../heartbeat';\nexport const redis = beat;\n",
      'activities/systems/router/index.ts':
        "import { redis } from '../redis';\nimport { plan } from '../../cutover/plan';\nexport const r = redis + plan;\n",
      'activities/cutover/plan.ts': "import { redis } from '../systems/redis';\nexport const plan = redis;\n",
    });
    expect(layerViolations(root)).toEqual([
      "adapter import: src/activities/systems/router/index.ts (an adapter) imports src/activities/cutover/plan.ts (a capability's folder)",
    ]);
  });

  test('a cycle inside one layer is refused, type-only imports and re-exports included', () => {
    write({
      'workflows/x/workflow.ts': "import { watch } from './monitor';\nexport async function run() { await watch(); }\n",
      'workflows/x/monitor.ts':
        "import type { step } from './steps';\nexport async function watch(): Promise<void> {}\nexport type S = typeof step;\n",
      'workflows/x/steps.ts': "export { run as step } from './workflow';\n",
    });
    expect(layerViolations(root)).toEqual([
      'import cycle: src/workflows/x/monitor.ts -> src/workflows/x/steps.ts -> src/workflows/x/workflow.ts -> src/workflows/x/monitor.ts',
    ]);
  });
});

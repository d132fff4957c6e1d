import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporalCliPath } from '../../scripts/temporal-binaries';

export const historiesDir = join(__dirname, '../replay/histories');

/**
 * With OPSFLOW_RECORD_HISTORIES=1, an e2e test saves the history of a real run for the replay
 * tests: `OPSFLOW_RECORD_HISTORIES=1 npm test -- e2e`, then commit test/replay/histories/.
 * The temporal CLI writes the JSON form that `historyFromJSON` reads; the file adds `workflowId`.
 */
export function recordHistory(address: string, workflowId: string, name: string): void {
  if (process.env.OPSFLOW_RECORD_HISTORIES !== '1') return;
  const cli = temporalCliPath();
  if (!cli) throw new Error('recording histories needs the temporal CLI (npm run setup)');
  const json = execFileSync(cli, ['workflow', 'show', '--address', address, '--workflow-id', workflowId, '--output', 'json'], {
    encoding: 'utf8',
  });
  mkdirSync(historiesDir, { recursive: true });
  // The events do not name the workflow id, and a workflow may check its own id: keep it beside them.
  writeFileSync(join(historiesDir, `${name}.json`), JSON.stringify({ workflowId, ...JSON.parse(json) }, null, 2) + '\n');
}

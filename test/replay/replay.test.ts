import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { historiesDir } from '../helpers/histories';
import { workflowBundle } from '../helpers/temporal';

/**
 * Determinism: histories recorded from real runs (see test/helpers/histories.ts) are replayed
 * against today's workflow code. A change that would break running workflows fails here.
 */
describe('replay of recorded histories', () => {
  const files = readdirSync(historiesDir).filter((f) => f.endsWith('.json'));

  test('there are recorded histories, at least one of the health check', () => {
    expect(files.some((f) => f.startsWith('health-check'))).toBe(true);
  });

  test.each(files)('%s replays without non-determinism', async (file) => {
    const { workflowId, ...history } = JSON.parse(readFileSync(join(historiesDir, file), 'utf8'));
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowId ?? file);
  });
});

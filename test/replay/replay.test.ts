import { readdirSync } from 'node:fs';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import * as workflows from '../../src/workflows';
import { chainProblems, historiesDir, readChain, signalsOf, workflowTypeOf } from '../helpers/histories';
import { workflowBundle } from '../helpers/temporal';

/**
 * Determinism: histories recorded from real runs (see test/helpers/histories.ts) are replayed
 * against today's workflow code. A change that would break running workflows fails here. Each
 * file is a whole continue-as-new chain with its workflow id, and every run of it is replayed.
 */
describe('replay of recorded histories', () => {
  const files = readdirSync(historiesDir).filter((f) => f.endsWith('.json'));

  test('every workflow the worker registers has a recorded history, and every history is of one it registers', () => {
    const registered = Object.keys(workflows).sort();
    const recorded = [...new Set(files.map((f) => workflowTypeOf(readChain(f))))].sort();
    expect(recorded).toEqual(registered);
  });

  test('a history whose commands differ from the code fails to replay (the check can fail)', async () => {
    const chain = readChain('health-check-failing-target.json');
    const events = structuredClone(chain.runs[0].events);
    const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)!;
    scheduled.activityTaskScheduledEventAttributes!.activityType!.name = 'anActivityTheCodeNeverCalls';
    const results = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, [
      { workflowId: chain.workflowId, history: { events } },
    ]))
      results.push(r);
    expect(results).toHaveLength(1);
    expect(results[0].error).toBeInstanceOf(DeterminismViolationError);
  });

  test.each(files)('%s holds its workflow id and every run of its chain, the last one closed', (file) => {
    expect(chainProblems(readChain(file))).toEqual([]);
  });

  test('the paused and cancelled migration spans several runs and holds the operator signals', () => {
    const chain = readChain('data-migration-paused-cancelled.json');
    expect(chain.runs.length).toBeGreaterThan(1);
    expect(signalsOf(chain)).toEqual(['pause', 'resume']);
    const last = chain.runs[chain.runs.length - 1].events;
    expect(last.some((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED')).toBe(true);
  });

  test.each(files)('%s: every run replays without non-determinism', async (file) => {
    const chain = readChain(file);
    const replayed: string[] = [];
    const failures: string[] = [];
    const histories = chain.runs.map((run) => ({ workflowId: chain.workflowId, history: { events: run.events } }));
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      replayed.push(result.runId);
      if (result.error) failures.push(`run ${result.runId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toEqual(chain.runs.map((r) => r.runId));
  });
});

import { readdirSync } from 'node:fs';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import * as workflows from '../../src/workflows';
import {
  activitiesOf,
  chainProblems,
  historiesDir,
  patchesOf,
  readChain,
  searchAttributeValuesOf,
  signalsOf,
  timerSummariesOf,
  updatesOf,
  workflowTypeOf,
} from '../helpers/histories';
import { workflowBundle } from '../helpers/temporal';

/**
 * Determinism: histories recorded from real runs (see test/helpers/histories.ts) are replayed
 * against today's workflow code. A change that would break running workflows fails here. Each
 * file is a whole continue-as-new chain with its workflow id, and every run of it is replayed.
 */
/** The values as they changed: repeats in a row (an upsert of the same state) as one. */
const changesOf = (values: unknown[]) => values.filter((v, i) => i === 0 || v !== values[i - 1]);

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

  // A history recorded to cover a patched path must have taken it: one that went the old way would
  // replay green and guard nothing, so each names the patch and what the path left in the history.
  test("the deploy paused mid-batch and resumed: 'paused' in its phase attribute, then its phase again", () => {
    const chain = readChain('deploy-paused-resumed-mid-batch.json');
    expect(patchesOf(chain)).toContain('opsflow-pause-in-state-attribute');
    expect(updatesOf(chain)).toEqual(['pause', 'resume']);
    expect(searchAttributeValuesOf(chain, 'OpsflowPhase')).toEqual([
      'resolving',
      'deploying',
      'paused',
      'deploying',
      'done',
    ]);
  });

  // A retired patch (docs/upgrading.md) is deprecated, not removed: the code keeps only the new
  // branch, and both a history recorded before the retirement and one recorded after it replay.
  test("the health check's retired backup-age patch: one history with its live marker, one with its deprecated marker", () => {
    const before = readChain('health-check-backup-age-before-retirement.json');
    const after = readChain('health-check-backup-age.json');
    expect(patchesOf(before)).toEqual(['health-backup-age']);
    expect(patchesOf(before, 'deprecated')).toEqual([]);
    expect(patchesOf(after, 'deprecated')).toEqual(['health-backup-age']);
  });

  test('an incident cancelled while its page was in flight: the cancellation ended the run, no send recorded as failed', () => {
    const chain = readChain('incident-cancelled-mid-page.json');
    expect(patchesOf(chain)).toContain('notify-cancellation-propagates');
    const last = chain.runs[chain.runs.length - 1].events;
    expect(last.some((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED')).toBe(true);
  });

  test("a cutover whose batches' intervals were watched: the managers' first watch ended early and the batch rolled back", () => {
    const chain = readChain('user-cutover-watch-ended-early.json');
    expect(patchesOf(chain)).toContain('cutover-watch-interval');
    expect(timerSummariesOf(chain).filter((t) => /wait .* for sample/.test(t))).toEqual([]);
  });

  test('the runbook migration copied in segments: its 20 chunks in a few copy activities, not one at a time at the end', () => {
    const chain = readChain('data-migration-copy-segments.json');
    expect(patchesOf(chain)).toContain('opsflow-migration-copy-segments');
    const copies = activitiesOf(chain).filter((a) => a === 'copyMigrationChunks').length;
    expect(copies).toBeGreaterThanOrEqual(3);
    expect(copies).toBeLessThanOrEqual(8);
  });

  test('the deploy paused between batches and aborted: the abort ended the pause, no resume', () => {
    const chain = readChain('deploy-paused-aborted.json');
    expect(patchesOf(chain)).toContain('deploy-abort-ends-pause');
    expect(updatesOf(chain)).toEqual(['pause', 'abort']);
  });

  test("the deploy with two stuck drains: each host's approval its own wait, each approved by two people", () => {
    const chain = readChain('deploy-stuck-drains-two-approvers.json');
    expect(patchesOf(chain)).toContain('opsflow-deploy-drain-approval-own-step');
    expect(updatesOf(chain)).toEqual(['approve', 'approve', 'approve', 'approve']);
    expect(timerSummariesOf(chain)).toEqual([
      "awaiting approval of going on with h1's 3 open sessions — `opsflow approve deploy-drains`",
      "awaiting approval of going on with h2's 3 open sessions — `opsflow approve deploy-drains`",
    ]);
  });

  test('the go-live that waited for a stage approval and then a resume: both waits on timers naming the command, paused in its phase', () => {
    const chain = readChain('go-live-stage-approved-paused-resumed.json');
    expect(patchesOf(chain)).toEqual(
      expect.arrayContaining(['operator-approval-wait-timer', 'opsflow-pause-in-state-attribute']),
    );
    expect(updatesOf(chain)).toEqual(['pause', 'approve', 'resume']);
    expect(timerSummariesOf(chain)).toEqual([
      'awaiting approval of stage phasedRollout — `opsflow approve go-live-gate`',
      expect.stringMatching(/^before phasedRollout: paused by ann at .* — `opsflow resume go-live-gate`$/),
    ]);
    expect(searchAttributeValuesOf(chain, 'OpsflowPhase')).toEqual(['running', 'paused', 'running', 'live']);
  });

  test("the incident whose runbook step waited for approval: the wait on a timer naming the step's command", () => {
    const chain = readChain('incident-runbook-step-approved.json');
    expect(patchesOf(chain)).toContain('operator-approval-wait-timer');
    expect(signalsOf(chain)).toEqual(['approve', 'resolve']);
    expect(timerSummariesOf(chain)).toContain(
      'awaiting approval of runbook step restart-shop — `opsflow approve incident-rem-1 --step restart-shop`',
    );
  });

  test("the rollout paused while awaiting approval: 'paused' in its state attribute, then awaiting-approval again", () => {
    const chain = readChain('phased-rollout-paused-resumed-awaiting-approval.json');
    expect(patchesOf(chain)).toContain('opsflow-pause-in-state-attribute');
    expect(updatesOf(chain)).toEqual(['pause', 'resume', 'approve', 'approve']);
    expect(changesOf(searchAttributeValuesOf(chain, 'OpsflowState')).slice(0, 3)).toEqual([
      'awaiting-approval',
      'paused',
      'awaiting-approval',
    ]);
  });

  test("the cutover paused while watching batch 1 and resumed while waiting for batch 2: 'paused' meanwhile, then the state it entered", () => {
    const chain = readChain('user-cutover-paused-resumed.json');
    expect(patchesOf(chain)).toContain('opsflow-pause-in-state-attribute');
    expect(updatesOf(chain)).toEqual(['pause', 'resume']);
    const states = changesOf(searchAttributeValuesOf(chain, 'OpsflowState'));
    expect(states.slice(0, 5)).toEqual(['waiting', 'moving', 'monitoring', 'paused', 'waiting']);
    expect(states.at(-1)).toBe('completed');
  });

  test('the cutover aborted while paused: the abort ended the pause, with no resume', () => {
    const chain = readChain('user-cutover-paused-aborted.json');
    expect(patchesOf(chain)).toEqual(
      expect.arrayContaining(['cutover-abort-ends-pause', 'opsflow-pause-in-state-attribute']),
    );
    expect(updatesOf(chain)).toEqual(['pause', 'abort']);
    expect(searchAttributeValuesOf(chain, 'OpsflowState').at(-1)).toBe('aborted');
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

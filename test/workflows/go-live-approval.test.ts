import { Worker } from '@temporalio/worker';
import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerEnv } from '../helpers/temporal';
import { waitFor } from '../helpers/ports';
import { recordHistory } from '../helpers/histories';
import { OpsflowPhase } from '../../src/domain/search-attributes';
import { approveUpdate, pauseUpdate, resumeUpdate, statusQuery } from '../../src/workflows/go-live/messages';

/**
 * A go-live's own waits on people, between its stages: the approval of the next stage and a pause
 * before it starts. Each shows in the Web UI's timeline as a timer whose summary names the command
 * that ends it, and the run is found as paused while the pause holds. On the dev server (an
 * approval never ends by time); the stages are stand-ins (go-live-stages/workflows.ts).
 */
describe('goLiveWorkflow: approval and pause between stages', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await devServerEnv();
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  });

  test('the rollout stage waits for its approval, then for a resume: both waits name their command, the phase reads paused, and the child starts only after the resume', async () => {
    const taskQueue = 'go-live-approval';
    const service = 'gate';
    const workflowId = `go-live-${service}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('./go-live-stages/workflows'),
    });
    const handle = await env.client.workflow.start('goLiveWorkflow', {
      taskQueue,
      workflowId,
      args: [
        {
          service,
          approveBetweenStages: true,
          stages: {
            readiness: { checklist: 'c' },
            phasedRollout: {
              service,
              lb: 'edge',
              backends: { old: 'blue', new: 'green' },
              metricSources: ['p'],
              steps: [{ weight: 100, window: '1m' }],
            },
          },
        },
      ],
    });
    const phase = async () => (await handle.describe()).typedSearchAttributes.get(OpsflowPhase);
    const timerSummaries = async () =>
      ((await handle.fetchHistory()).events ?? [])
        .filter((e) => e.timerStartedEventAttributes && e.userMetadata?.summary)
        .map((e) => defaultPayloadConverter.fromPayload<string>(e.userMetadata!.summary!));
    const rolloutState = (s: { stages: { stage: string; state: string }[] }) =>
      s.stages.find((x) => x.stage === 'phasedRollout')?.state;

    const out = await worker.runUntil(async () => {
      const awaiting = await waitFor(
        'the rollout stage awaiting approval',
        async () => {
          const s = await handle.query(statusQuery);
          return rolloutState(s) === 'awaiting-approval' ? s : undefined;
        },
        60_000,
      );
      const pausedAnswer = await handle.executeUpdate(pauseUpdate, { args: [{ by: 'ann', reason: 'vendor call' }] });
      const pausedPhase = await phase();
      // Approved while paused: the approval is taken, and the pause still holds the stage back.
      await handle.executeUpdate(approveUpdate, { args: [{ by: 'bob' }] });
      const held = await waitFor('the pause wait after the approval', async () => {
        const summaries = await timerSummaries();
        return summaries.some((s) => s.startsWith('before phasedRollout: paused')) ? summaries : undefined;
      });
      const heldStatus = await handle.query(statusQuery);
      const heldPhase = await phase();
      const childWhileHeld = await env.client.workflow
        .getHandle(`rollout-${service}`)
        .describe()
        .then(
          () => 'started',
          (e: Error) => e.name,
        );
      const resumed = await handle.executeUpdate(resumeUpdate, { args: [{ by: 'ann' }] });
      const result = (await handle.result()) as { status: { phase: string } };
      return {
        awaiting,
        pausedAnswer,
        pausedPhase,
        held,
        heldStatus,
        heldPhase,
        childWhileHeld,
        resumed,
        result,
        final: await phase(),
      };
    });
    recordHistory(env.address, workflowId, 'go-live-stage-approved-paused-resumed');

    expect(out.awaiting.phase).toBe('running');
    expect(out.pausedAnswer).toMatchObject({ paused: true, pausedBy: { by: 'ann' } });
    expect(out.pausedPhase).toBe('paused');
    expect(out.held).toEqual([
      `awaiting approval of stage phasedRollout — \`opsflow approve ${workflowId}\``,
      expect.stringMatching(
        new RegExp(`^before phasedRollout: paused by ann at \\S+ — \`opsflow resume ${workflowId}\`$`),
      ),
    ]);
    // Approved, but the pause holds: the rollout child has not started.
    expect(out.heldStatus.decisions).toContain('phasedRollout approved by bob');
    expect(out.childWhileHeld).toBe('WorkflowNotFoundError');
    expect(out.heldStatus.paused).toBe(true);
    // and the stage no longer says it waits for approval: what holds it is the pause
    expect(rolloutState(out.heldStatus)).toBe('pending');
    expect(out.heldPhase).toBe('paused');
    expect(out.resumed).toMatchObject({ paused: false });
    expect(out.result.status.phase).toBe('live');
    expect(out.final).toBe('live');
  }, 240_000);
});

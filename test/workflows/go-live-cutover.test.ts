import { Worker } from '@temporalio/worker';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerEnv } from '../helpers/temporal';
import type { GoLiveStatus } from '../../src/workflows/go-live/state';
import { waitFor } from '../helpers/ports';
import { abortSignal, statusQuery } from '../../src/workflows/go-live/messages';

/**
 * The go-live's user cutover stage on the real dev server: it runs as the child `cutover-<service>`
 * after the rollout child has finished, and an abort of the go-live during it reaches the child as
 * `{all: true}` (every moved batch restored). Children are stand-ins (go-live-stages/workflows.ts).
 */
describe('goLiveWorkflow: userCutover stage', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await devServerEnv();
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  });

  test('cutover runs as cutover-<service> after the rollout; an abort during it is passed on with all: true and the go-live stops there', async () => {
    const taskQueue = 'go-live-cutover';
    const service = 'shop';
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('./go-live-stages/workflows'),
    });
    await worker.runUntil(async () => {
      const input = {
        service,
        stages: {
          readiness: { checklist: 'c' },
          phasedRollout: {
            service,
            lb: 'edge',
            backends: { old: 'blue', new: 'green' },
            metricSources: ['p'],
            steps: [{ weight: 100, window: '1m' }],
          },
          userCutover: { service, directory: 'staff', router: 'users', metricSources: ['p'] },
        },
      };
      const goLive = await env.client.workflow.start('goLiveWorkflow', {
        taskQueue,
        workflowId: `go-live-${service}`,
        args: [input],
      });
      let status: GoLiveStatus | undefined;
      await waitFor(
        'the user cutover stage running',
        async () => {
          status = await goLive.query(statusQuery);
          return (
            status.current === 'userCutover' &&
            status.stages.find((s) => s.stage === 'userCutover')?.state === 'running'
          );
        },
        60_000,
      ).catch(() => undefined); // the expectation below says what the stages were instead
      expect(status!.stages.map((s) => [s.stage, s.workflowId, s.state])).toEqual([
        ['readiness', `readiness-${service}`, 'succeeded'],
        ['phasedRollout', `rollout-${service}`, 'succeeded'],
        ['userCutover', `cutover-${service}`, 'running'],
      ]);
      const rollout = await env.client.workflow.getHandle(`rollout-${service}`).describe();
      const cutover = env.client.workflow.getHandle(`cutover-${service}`);
      const cutoverRun = await cutover.describe();
      // A child of the go-live, started only once the rollout had closed.
      expect(cutoverRun.parentExecution?.workflowId).toBe(`go-live-${service}`);
      expect(cutoverRun.startTime.getTime()).toBeGreaterThanOrEqual(rollout.closeTime!.getTime());

      await goLive.signal(abortSignal, { by: 'ops', reason: 'bad numbers' });
      const childErr = await cutover.result().catch((e) => e);
      expect(childErr).toBeInstanceOf(WorkflowFailedError);
      const childMessage = String((childErr as WorkflowFailedError).cause?.message);
      expect(JSON.parse(childMessage.match(/aborted with (\{.*?\}) \(/)![1])).toEqual({
        by: 'ops',
        reason: 'bad numbers',
        all: true,
      });
      // The cutover got its own input, parsed with its schema (runbooks §3's default batches filled in).
      expect(childMessage).toContain('batches IT department, managers, Sales, everyone else');

      const err = await goLive.result().catch((e) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const final = await goLive.query(statusQuery);
      expect(final.stoppedAt?.stage).toBe('userCutover');
      expect(final.stages.find((s) => s.stage === 'userCutover')?.state).toBe('failed');
      expect(final.decisions.join('\n')).toContain(`abort passed on to userCutover (cutover-${service})`);
      expect(final.stays.join('\n')).toContain('user cutover: batches moved before the stop');
    });
  }, 240_000);
});

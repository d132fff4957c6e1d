import { Stack, waitFor } from '../helpers/stack';
import { HttpReceiver } from '../helpers/http-receiver';
import { testToken } from '../helpers/tokens';
import { incidentResponseWorkflow } from '../../src/workflows/incident';
import { resolveSignal, statusQuery } from '../../src/workflows/incident/messages';

/**
 * An operator resets an incident's run (`temporal workflow reset`) after a bad worker build: the new
 * run sends its page and PagerDuty trigger again. The receivers must see the same event, not a new
 * one: the trigger folds into the PagerDuty incident already open, and the resolve closes it.
 */
describe('an incident reset to its first workflow task (dev server)', () => {
  jest.setTimeout(120_000);
  let stack: Stack;
  const oncall = new HttpReceiver({ honourKey: true });
  const pd = new HttpReceiver({
    okStatus: 202,
    honourKey: (r) => r.json && `${r.json.dedup_key}/${r.json.event_action}`,
  });
  const of = (r: HttpReceiver, workflowId: string) => r.requests.filter((q) => q.body.includes(workflowId));

  beforeAll(async () => {
    await Promise.all([oncall.start(), pd.start()]);
    process.env.OPSFLOW_TEST_RESET_PD_KEY = testToken('pd-routing');
    stack = await Stack.start();
    await stack.startWorker({
      notifiers: {
        oncall: { type: 'webhook', url: oncall.url },
        pd: { type: 'pagerduty', url: pd.url, routingKey: { env: 'OPSFLOW_TEST_RESET_PD_KEY' } },
      },
      incident: {
        channels: ['pd'],
        notify: { P0: ['on-call'] },
        rota: {
          timezone: 'UTC',
          shifts: [
            { name: 'day', start: '09:00', end: '18:00', oncall: 'alice', notify: ['oncall'] },
            { name: 'night', start: '18:00', end: '09:00', oncall: 'bob', notify: ['oncall'] },
          ],
        },
        remediation: { runbooks: { P0: [], P1: [], P2: [], P3: [] } },
      },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await Promise.all([oncall.stop(), pd.stop()]);
  });

  test('the reset run triggers and resolves PagerDuty under the first run’s dedup_key, and pages once', async () => {
    const workflowId = 'incident-reset-1';
    const first = await stack.client.workflow.start(incidentResponseWorkflow, {
      taskQueue: 'opsflow',
      workflowId,
      args: [{ title: 'checkout web down', type: 'service_down', services: ['web-server'], source: 'cli' }],
    });
    await waitFor('the PagerDuty trigger', () => of(pd, workflowId).length === 1, 60_000);
    await waitFor('the page', () => of(oncall, workflowId).length === 1, 60_000);

    const { history } = await stack.client.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId, runId: first.firstExecutionRunId },
    });
    const firstTask = history!.events!.find((e) => e.workflowTaskCompletedEventAttributes)!;
    const { runId } = await stack.client.workflowService.resetWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId, runId: first.firstExecutionRunId },
      reason: 'test: the incident replayed from its first task',
      workflowTaskFinishEventId: firstTask.eventId,
      requestId: `reset-${Date.now()}`,
    });
    expect(runId).toBeTruthy();
    expect(runId).not.toBe(first.firstExecutionRunId);
    const reset = stack.client.workflow.getHandle(workflowId, runId!);
    // the reset run has sent its own trigger by the time it reads its activities' results back
    await waitFor(
      'the reset run to record its PagerDuty trigger',
      async () => (await reset.query(statusQuery)).timeline.some((e) => e.kind === 'notified' && /pd/.test(e.message)),
      60_000,
    );
    await reset.signal(resolveSignal, { by: 'alice' });
    expect(await reset.result()).toMatchObject({ state: 'resolved' });

    const sent = of(pd, workflowId);
    expect(sent.map((r) => r.json.event_action)).toEqual(['trigger', 'resolve']);
    expect(new Set(sent.map((r) => r.json.dedup_key)).size).toBe(1);
    // every attempt, the reset run's trigger included, carried that one key
    const attempts = pd.attempts.filter((q) => q.body.includes(workflowId));
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    expect(new Set(attempts.map((r) => r.json.dedup_key)).size).toBe(1);
    expect(of(oncall, workflowId).map((r) => String(r.headers['idempotency-key']).split('/')[2])).toEqual([
      'opened',
      'resolved',
    ]);
  });
});

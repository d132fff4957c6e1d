import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { waitFor } from '../helpers/ports';
import { testToken } from '../helpers/tokens';
import { createActivities } from '../../src/activities';
import { scrubbingActivityInterceptor } from '../../src/activities/secret-scrubbing';
import { recordConfiguredSecrets } from '../../src/config/secrets';
import { parseConfigText } from '../../src/config/load';
import { incidentId } from '../../src/domain/incident/incident';
import { incidentResponseWorkflow } from '../../src/workflows/incident';
import { resolveSignal, statusQuery } from '../../src/workflows/incident/messages';

/**
 * No incident.store: nothing hands out `-2` for a second another incident took, and nothing holds
 * the diagnostics column. Two incidents of one second must still get different ids, and the
 * diagnostics the runbook collects must reach `status` (bounded, scrubbed), not be collected and lost.
 */
describe('incidentResponseWorkflow without an incident store (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const tokenEnv = `OPSFLOW_TEST_NOSTORE_TOKEN_${process.pid}`;
  const token = testToken('incident-without-store');

  beforeAll(async () => {
    process.env[tokenEnv] = token;
    const config = parseConfigText(
      JSON.stringify({
        // a secret the worker resolves, which the diagnostics command below prints
        notifiers: { hook: { type: 'webhook', url: 'http://127.0.0.1:9/unused', token: { env: tokenEnv } } },
        incident: {
          notify: { P0: [], P1: [], P2: [], P3: [] },
          remediation: {
            diagnostics: {
              host: false,
              // prints the secret (a child of jest does not see the test's process.env: it is passed)
              commands: { disk: ['sh', '-c', 'echo "/var 100% full"; echo "token $0"', token] },
            },
            runbooks: { P0: [], P1: [], P2: ['diagnostics'], P3: [] },
          },
        },
      }),
      'test.json',
    );
    recordConfiguredSecrets(config);
    env = await timeSkippingEnv();
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'no-store',
      workflowBundle: await workflowBundle(),
      activities: createActivities(config),
      interceptors: { activity: [scrubbingActivityInterceptor()] },
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running?.catch(() => undefined);
    await env?.teardown();
    delete process.env[tokenEnv];
  });

  const open = (workflowId: string) =>
    env.client.workflow.start(incidentResponseWorkflow, {
      taskQueue: 'no-store',
      workflowId,
      args: [{ title: 'errors', type: 'error_rate', metrics: { errorRate: 10 } }],
    });
  const settled = (h: Awaited<ReturnType<typeof open>>) =>
    waitFor(
      `${h.workflowId} to know it has no store`,
      async () => {
        const s = await h.query(statusQuery);
        return s.storeProblem && s.runbook.every((r) => r.outcome) ? s : undefined;
      },
      30_000,
      100,
    );

  test('two incidents opened in the same second get different ids; diagnostics are in status', async () => {
    // Started together they almost always share a second; a pair that straddles one is opened again.
    let pair: Awaited<ReturnType<typeof settled>>[] = [];
    const handles: Awaited<ReturnType<typeof open>>[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const hs = await Promise.all([open(`incident-nostore-a${attempt}`), open(`incident-nostore-b${attempt}`)]);
      handles.push(...hs);
      pair = await Promise.all(hs.map(settled));
      if (incidentId(new Date(pair[0].openedAt)) === incidentId(new Date(pair[1].openedAt))) break;
    }
    const [a, b] = pair;
    const second = incidentId(new Date(a.openedAt));
    expect(incidentId(new Date(b.openedAt))).toBe(second);
    expect(a.id).not.toBe(b.id);
    for (const s of [a, b]) expect(s.id).toMatch(new RegExp(`^${second}-[0-9a-z]{7}$`));

    // the diagnostics: collected, kept in status (the secret the command printed scrubbed out)
    expect(a.runbook).toEqual([expect.objectContaining({ id: 'diagnostics', outcome: 'ok' })]);
    expect(a.diagnostics).toContain('[command:disk]');
    expect(a.diagnostics).toContain('/var 100% full');
    expect(a.diagnostics).toContain('token ');
    expect(a.diagnostics).not.toContain(token);
    expect(a.timeline.find((e) => e.message.startsWith('diagnostics collected'))?.message).toBe(
      'diagnostics collected: command:disk (no store: kept in status.diagnostics)',
    );

    for (const h of handles) await h.signal(resolveSignal, { by: 'test' });
    // One result at a time: concurrent time-skipping result() calls let the test server skip time
    // until one run "timed out" (reproduced with two pairs: Promise.all failed, in turn all four ended).
    const results = [];
    for (const h of handles) results.push(await h.result());
    expect(results.slice(-2).map((r) => r.id)).toEqual([a.id, b.id]);
  });
});

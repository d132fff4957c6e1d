import { Stack, writeConfig, killWorker } from '../helpers/stack';
import { waitFor } from '../helpers/ports';
import { LbApi } from '../helpers/lb-api-load-balancer';
import { testToken } from '../helpers/tokens';
import { recordHistory } from '../helpers/histories';
import { statusQuery } from '../../src/workflows/rollout/messages';
import { STARTED_BY_MEMO } from '../../src/domain/approval';

/**
 * Approvals with identity through the real `opsflow` CLI against the dev server and a worker
 * process: a step that needs two people and forbids the one who started the run refuses the
 * starter and a second approve by the same person (saying who approved so far), and the first of
 * the two approvals, given as an Update, survives a SIGKILLed worker; a verb the workflow type
 * does not take is refused before anything is sent.
 */
describe('two approvers, not the starter, across a worker kill (dev server, opsflow CLI, LB API)', () => {
  const TOKEN = testToken('operator-approvals-lb');
  let stack: Stack;
  let lb: LbApi;
  let configPath: string;
  let worker: ReturnType<Stack['spawnWorkerProcess']>;
  const newWeight = () => lb.config.traffic_split.new_system;

  beforeAll(async () => {
    lb = await new LbApi(TOKEN).start();
    process.env.OPSFLOW_APPROVALS_E2E_LB_TOKEN = TOKEN;
    configPath = writeConfig({
      loadBalancers: {
        api: { type: 'http-api', url: `http://127.0.0.1:${lb.port}`, token: { env: 'OPSFLOW_APPROVALS_E2E_LB_TOKEN' } },
      },
      metricSources: { host: { type: 'host' } },
    });
    stack = await Stack.start();
    worker = stack.spawnWorkerProcess(configPath);
  }, 180_000);

  afterAll(async () => {
    if (worker) await killWorker(worker.child);
    await stack?.stop();
    await lb?.stop();
  });

  const cli = (args: string[]) => stack.cli(['--config', configPath, ...args]);
  const status = (id: string) => stack.client.workflow.getHandle(id).query(statusQuery);
  const awaiting = (id: string, step: number) =>
    waitFor(
      `${id} to wait for approval of step ${step}`,
      async () => ((await status(id).catch(() => undefined))?.awaitingApproval === step ? true : undefined),
      120_000,
      250,
    );
  const updatesIn = async (id: string) =>
    ((await stack.client.workflow.getHandle(id).fetchHistory()).events ?? []).filter(
      (e) => e.workflowExecutionUpdateAcceptedEventAttributes,
    ).length;

  test('the starter and a repeat are refused with who approved so far; the first approval survives SIGKILL; the second moves the LB', async () => {
    const service = 'op-two';
    const id = `rollout-${service}`;
    const input = {
      service,
      lb: 'api',
      backends: { old: 'old_system', new: 'new_system' },
      steps: [
        { weight: 20, window: '1h', approval: { approvers: 2, forbidStarter: true } },
        { weight: 100, window: '1h' },
      ],
      sampleInterval: '1s',
      metricSources: ['host'],
      gate: { cpuPercent: 100, memoryPercent: 100 },
    };
    expect(await cli(['start', 'phased-rollout', '--by', 'sam', '--input', JSON.stringify(input)])).toMatchObject({
      code: 0,
    });
    expect((await stack.client.workflow.getHandle(id).describe()).memo?.[STARTED_BY_MEMO]).toBe('sam');
    await awaiting(id, 1);

    const self = await cli(['approve', id, '--by', 'sam']);
    expect(self).toMatchObject({
      code: 1,
      stdout:
        'refused: sam started this run and may not approve step 1 (forbidStarter); approved so far: nobody (0 of 2)\n',
    });
    expect(await updatesIn(id)).toBe(0);

    const first = await cli(['approve', id, '--by', 'alice']);
    expect(first).toMatchObject({
      code: 0,
      stdout: `accepted: phasedRolloutWorkflow ${id} is now awaiting-approval, step 1; step 1 approved so far by alice (1 of 2)\n`,
    });
    const again = await cli(['approve', id, '--by', 'alice']);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(
      /^refused: step 1 already approved by alice at \d{4}-\d\d-\d\dT[\d:.]+Z; approved so far: alice \(1 of 2\)\n$/,
    );
    expect(newWeight()).toBe(0);

    // The worker dies between the two approvals: the first one is in the history, not in memory.
    await killWorker(worker.child);
    worker = stack.spawnWorkerProcess(configPath);
    await waitFor(
      "the new worker to answer with alice's approval",
      async () =>
        (await status(id).catch(() => undefined))?.approvals?.approvedBy.join() === 'alice' ? true : undefined,
      120_000,
      250,
    );
    expect(newWeight()).toBe(0);

    const second = await cli(['approve', id, '--by', 'bob']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(new RegExp(`^accepted: phasedRolloutWorkflow ${id} is now [a-z-]+, step 1\\n$`));
    await waitFor('the LB at 20 %', async () => (newWeight() === 20 ? true : undefined), 60_000, 250);
    const s = await status(id);
    expect(s.approved).toEqual([1]);
    expect(s.approvals).toBeUndefined();
    const decisions = s.decisions.map((d) => d.decision);
    expect(decisions).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^approve received from alice at \d{4}-.* \(1 of 2\)$/),
        expect.stringMatching(/^approve received from bob at \d{4}-.* \(2 of 2\)$/),
      ]),
    );

    // A verb a rollout does not take is refused before anything is sent.
    const updates = await updatesIn(id);
    const skip = await cli(['skip', id, '--batch', '1']);
    expect(skip).toMatchObject({
      code: 2,
      stderr: `opsflow: phasedRolloutWorkflow ${id} does not take skip (it takes: approve, pause, resume, abort); nothing was sent\n`,
    });
    expect(await updatesIn(id)).toBe(updates);

    expect(await cli(['abort', id, '--by', 'alice', '--reason', 'test over'])).toMatchObject({ code: 0 });
    await stack.client.workflow
      .getHandle(id)
      .result()
      .catch(() => undefined);
    expect(newWeight()).toBe(0);
    recordHistory(stack.temporalAddress(), id, 'phased-rollout-two-approvers-worker-killed');
  }, 400_000);
});

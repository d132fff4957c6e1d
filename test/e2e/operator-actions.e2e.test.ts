import { Stack, writeConfig, killWorker } from '../helpers/stack';
import { waitFor } from '../helpers/ports';
import { LbApi } from '../helpers/lb-api-load-balancer';
import { testToken } from '../helpers/tokens';
import { statusQuery } from '../../src/workflows/rollout/messages';

/**
 * Operator actions through the real `opsflow` CLI against the dev server and a worker process:
 * each is an Update the run answers (accepted with its new state, or refused with why), a
 * mistyped action is refused before it is sent, a signal no handler knows is written in the run's
 * decisions, and approvals given as Updates survive a SIGKILLed worker between them.
 */
describe('operator actions answered (dev server, opsflow CLI, LB API)', () => {
  const TOKEN = testToken('operator-actions-lb');
  let stack: Stack;
  let lb: LbApi;
  let configPath: string;
  let worker: ReturnType<Stack['spawnWorkerProcess']>;
  const newWeight = () => lb.config.traffic_split.new_system;

  beforeAll(async () => {
    lb = await new LbApi(TOKEN).start();
    process.env.OPSFLOW_OPERATOR_E2E_LB_TOKEN = TOKEN;
    configPath = writeConfig({
      loadBalancers: {
        api: { type: 'http-api', url: `http://127.0.0.1:${lb.port}`, token: { env: 'OPSFLOW_OPERATOR_E2E_LB_TOKEN' } },
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
  const decisions = async (id: string) => (await status(id)).decisions.map((d) => d.decision);
  /** A rollout of `service` on the LB API; the gate always passes (host CPU and memory ≤ 100 %). */
  async function startRollout(
    service: string,
    steps: { weight: number; window: string; approval?: boolean }[],
  ): Promise<string> {
    const input = {
      service,
      lb: 'api',
      backends: { old: 'old_system', new: 'new_system' },
      steps,
      sampleInterval: '1s',
      metricSources: ['host'],
      gate: { cpuPercent: 100, memoryPercent: 100 },
    };
    const started = await cli(['start', 'phased-rollout', '--input', JSON.stringify(input)]);
    expect(started).toMatchObject({ code: 0 });
    return `rollout-${service}`;
  }
  const awaiting = (id: string, step: number) =>
    waitFor(
      `${id} to wait for approval of step ${step}`,
      async () => ((await status(id).catch(() => undefined))?.awaitingApproval === step ? true : undefined),
      120_000,
      250,
    );

  test('approve is answered with the new state and moves the LB; refusals say why and change nothing; an ended run says so', async () => {
    const id = await startRollout('op-answer', [
      { weight: 10, window: '1h', approval: true },
      { weight: 100, window: '1h' },
    ]);
    await awaiting(id, 1);
    expect(newWeight()).toBe(0);

    const approved = await cli(['approve', id, '--by', 'alice']);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toMatch(new RegExp(`^accepted: phasedRolloutWorkflow ${id} is now [a-z-]+, step 1\\n$`));
    expect(approved.stdout).not.toContain('awaiting-approval');
    await waitFor('the LB at 10 %', async () => (newWeight() === 10 ? true : undefined), 60_000, 250);
    expect((await status(id)).approved).toEqual([1]);
    expect(await decisions(id)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^approve received from alice at \d{4}-\d\d-\d\dT/)]),
    );

    // Nothing waits for approval now, and alice already approved step 1.
    const before = (await status(id)).decisions.length;
    const notWaiting = await cli(['approve', id, '--by', 'alice']);
    expect(notWaiting).toMatchObject({ code: 1, stdout: 'refused: not waiting for approval (state: monitoring)\n' });
    const again = await cli(['approve', id, '--by', 'alice', '--step', '1']);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/^refused: step 1 already approved by alice at \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
    expect((await status(id)).decisions.length).toBe(before);

    const paused = await cli(['pause', id, '--by', 'bob', '--reason', 'watching graphs']);
    expect(paused.stdout).toMatch(/^accepted: phasedRolloutWorkflow rollout-op-answer is now monitoring/);
    expect((await status(id)).paused).toBe(true);
    const pausedAgain = await cli(['pause', id, '--by', 'carol']);
    expect(pausedAgain.code).toBe(1);
    expect(pausedAgain.stdout).toMatch(/^refused: already paused by bob at \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
    expect(await cli(['resume', id, '--by', 'bob'])).toMatchObject({ code: 0 });
    expect(await cli(['resume', id, '--by', 'bob'])).toMatchObject({
      code: 1,
      stdout: 'refused: not paused and not held (state: monitoring)\n',
    });

    // The LB is away while the run rolls back: the run stays alive to be aborted twice.
    const port = lb.port;
    await lb.stop();
    const aborted = await cli(['abort', id, '--by', 'carol', '--reason', 'enough']);
    expect(aborted.code).toBe(0);
    expect(aborted.stdout).toMatch(/^accepted: /);
    const abortedAgain = await cli(['abort', id, '--by', 'dan', '--reason', 'me too']);
    expect(abortedAgain.code).toBe(1);
    expect(abortedAgain.stdout).toMatch(/^refused: already aborted by carol at \d{4}-\d\d-\d\dT[\d:.]+Z: enough\n$/);
    await lb.start(port);
    await stack.client.workflow
      .getHandle(id)
      .result()
      .catch(() => undefined);
    expect(newWeight()).toBe(0);

    const late = await cli(['approve', id, '--by', 'alice']);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/^opsflow: the run has ended \(failed\)\n$/);
    const unknown = await cli(['pause', 'rollout-no-such-run']);
    expect(unknown).toMatchObject({ code: 1, stderr: 'opsflow: no workflow with id rollout-no-such-run\n' });
  }, 300_000);

  test('a mistyped action is refused before sending; a signal no handler knows is written in the decisions', async () => {
    const id = await startRollout('op-typo', [
      { weight: 10, window: '1h', approval: true },
      { weight: 100, window: '1h' },
    ]);
    await awaiting(id, 1);
    // message-name: deliberate: a mistyped name, as an operator would type it
    const typo = await cli(['signal', id, 'aprove', '--input', '{"by":"alice"}']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe(
      'opsflow: "aprove" is not a signal of phasedRolloutWorkflow (known: approve, pause, resume, abort, promote); nothing was sent (--force sends it anyway)\n',
    );
    const handle = stack.client.workflow.getHandle(id);
    const signalled = async () => {
      const names: string[] = [];
      for (const e of (await handle.fetchHistory()).events ?? [])
        if (e.workflowExecutionSignaledEventAttributes)
          names.push(e.workflowExecutionSignaledEventAttributes.signalName ?? '');
      return names;
    };
    expect(await signalled()).toEqual([]);

    // Sent anyway, past the CLI: the run says it ignored it and what it knows.
    // message-name: deliberate: a name no definition has
    await handle.signal('aprove', { by: 'alice' });
    const ignored =
      'ignored signal "aprove": not a signal of phasedRolloutWorkflow (known: approve, pause, resume, abort, promote)';
    await waitFor(
      'the ignored signal in the decisions',
      async () => ((await decisions(id)).includes(ignored) ? true : undefined),
      60_000,
      250,
    );
    const s = await status(id);
    expect(s.awaitingApproval).toBe(1);
    expect(s.approved).toEqual([]);
    const cliStatus = await cli(['status', id, '--json']);
    expect(cliStatus.stdout).toContain(ignored.replace(/"/g, '\\"'));

    expect(await cli(['abort', id, '--by', 'alice', '--reason', 'test over'])).toMatchObject({ code: 0 });
    await handle.result().catch(() => undefined);
  }, 300_000);

  test('worker SIGKILLed between two approvals: both are in status, the LB moved exactly as approved', async () => {
    const id = await startRollout('op-crash', [
      { weight: 20, window: '2s', approval: true },
      { weight: 60, window: '1h', approval: true },
      { weight: 100, window: '1h' },
    ]);
    await awaiting(id, 1);
    const posts = lb.posts.length;
    expect(await cli(['approve', id, '--by', 'alice'])).toMatchObject({ code: 0 });
    await awaiting(id, 2);
    expect(newWeight()).toBe(20);

    await killWorker(worker.child);
    worker = stack.spawnWorkerProcess(configPath);
    await awaiting(id, 2);
    const second = await cli(['approve', id, '--by', 'bob']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^accepted: phasedRolloutWorkflow rollout-op-crash is now [a-z-]+, step 2\n$/);
    await waitFor('the LB at 60 %', async () => (newWeight() === 60 ? true : undefined), 60_000, 250);

    const s = await status(id);
    expect(s.approved).toEqual([1, 2]);
    expect(s.decisions.map((d) => d.decision)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^approve received from alice at /),
        expect.stringMatching(/^approve received from bob at /),
      ]),
    );
    const weights = lb.posts
      .slice(posts)
      .filter((p) => p.path === '/api/config')
      .map((p) => p.body.traffic_split.new_system);
    expect([...new Set(weights)]).toEqual([20, 60]);

    expect(await cli(['abort', id, '--by', 'alice', '--reason', 'test over'])).toMatchObject({ code: 0 });
    await stack.client.workflow
      .getHandle(id)
      .result()
      .catch(() => undefined);
  }, 300_000);
});

import { Stack, waitFor, writeConfig } from '../helpers/stack';
import { HttpReceiver } from '../helpers/http-receiver';
import { recordHistory } from '../helpers/histories';
import { statusQuery as readinessStatus } from '../../src/workflows/readiness/messages';
import { statusQuery as incidentStatus } from '../../src/workflows/incident/messages';

/**
 * The readiness and incident verbs through the real `opsflow` CLI against the dev server and a
 * worker process: each refusal says why and writes nothing, each accepted action answers with the
 * run's new state, a flag missing is refused before sending, a verb the type does not take is
 * refused naming the ones it takes, and a signal the incident does not know lands on its timeline.
 * A paused go-live is found and read as paused, with the command that resumes it.
 */
describe('recheck, sign-off, waive, acknowledge, resolve answered (dev server, opsflow CLI)', () => {
  let stack: Stack;
  let configPath: string;
  let worker: ReturnType<Stack['spawnWorkerProcess']>;
  const hook = new HttpReceiver();

  beforeAll(async () => {
    await hook.start();
    configPath = writeConfig({
      notifiers: { hook: { type: 'webhook', url: `${hook.url}/hook` } },
      incident: { notify: { P0: ['hook'], P1: ['hook'], P2: ['hook'], P3: ['hook'] } },
      readiness: {
        checklists: {
          verbs: {
            items: [
              { id: 'hook', check: 'notifier', notifier: 'hook' },
              { id: 'training', check: 'signOff', description: 'on-call rota published and trained' },
              { id: 'vendor', check: 'signOff', description: 'vendor contacts current' },
            ],
          },
        },
      },
    });
    stack = await Stack.start();
    worker = stack.spawnWorkerProcess(configPath);
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await hook.stop();
  });

  const cli = (args: string[]) => stack.cli(['--config', configPath, ...args]);
  const updatesIn = async (id: string) =>
    ((await stack.client.workflow.getHandle(id).fetchHistory()).events ?? []).filter(
      (e) => e.workflowExecutionUpdateAcceptedEventAttributes,
    ).length;

  test('readiness: recheck, sign-off and waive refused with why or accepted with the new state; READY closes it', async () => {
    const id = 'readiness-verbs';
    expect(
      await cli([
        'start',
        'readiness',
        '--input',
        JSON.stringify({ service: 'verbs', checklist: 'verbs', deadline: '1h' }),
      ]),
    ).toMatchObject({ code: 0 });
    const status = () => stack.client.workflow.getHandle(id).query(readinessStatus);
    await waitFor(
      'the gate to wait',
      async () => ((await status().catch(() => undefined))?.phase === 'waiting' ? true : undefined),
      120_000,
      250,
    ).catch((e) => {
      throw new Error(`${e.message}\n${worker.output()}`);
    });

    expect(await cli(['recheck', id, '--item', 'training'])).toMatchObject({
      code: 1,
      stdout: 'refused: items: training is not an automated item of this checklist (automated: hook)\n',
    });
    expect(await cli(['sign-off', id, '--item', 'hook', '--by', 'alice'])).toMatchObject({
      code: 1,
      stdout:
        'refused: item: "hook" is an automated notifier check; it passes by its evidence or is waived, not signed\n',
    });
    expect(await cli(['sign-off', id, '--by', 'alice'])).toMatchObject({
      code: 2,
      stderr: 'opsflow: --item: required for sign-off\n',
    });
    expect(
      await cli(['waive', id, '--item', 'vendor', '--reason', 'r', '--until', '2020-01-01T00:00:00Z']),
    ).toMatchObject({
      code: 1,
      stdout: 'refused: until: 2020-01-01T00:00:00Z is not in the future\n',
    });
    expect(await cli(['skip', id, '--batch', '1'])).toMatchObject({
      code: 2,
      stderr: `opsflow: readinessCheckWorkflow ${id} does not take skip (it takes: abort, recheck, sign-off, waive); nothing was sent\n`,
    });
    expect(await updatesIn(id)).toBe(0);

    const recheck = await cli(['recheck', id, '--item', 'hook', '--by', 'carol']);
    expect(recheck).toMatchObject({ code: 0 });
    expect(recheck.stdout).toMatch(new RegExp(`^accepted: readinessCheckWorkflow ${id} is now [a-z-]+\\n$`));
    await waitFor(
      'the recheck in the decisions',
      async () =>
        (await status()).decisions.some((d) => /recheck of hook requested by carol/.test(JSON.stringify(d)))
          ? true
          : undefined,
      60_000,
      250,
    );

    expect(
      await cli(['sign-off', id, '--item', 'training', '--by', 'alice', '--note', 'rota in the wiki']),
    ).toMatchObject({ code: 0, stdout: `accepted: readinessCheckWorkflow ${id} is now waiting\n` });
    const twice = await cli(['sign-off', id, '--item', 'training', '--by', 'bob']);
    expect(twice.code).toBe(1);
    expect(twice.stdout).toMatch(
      /^refused: item: "training" is already signed off by alice at \d{4}-\d\d-\d\dT[\d:.]+Z\n$/,
    );
    expect((await status()).items.find((i) => i.id === 'training')?.signOff?.by).toBe('alice');

    const until = new Date(Date.now() + 3_600_000).toISOString();
    const waived = await cli([
      'waive',
      id,
      '--item',
      'vendor',
      '--until',
      until,
      '--reason',
      'contacts checked by phone',
      '--by',
      'dan',
    ]);
    expect(waived.code).toBe(0);
    const result = await stack.client.workflow.getHandle(id).result();
    expect(result.ready).toBe(true);
    expect(await cli(['recheck', id])).toMatchObject({ code: 1, stderr: 'opsflow: the run has ended (completed)\n' });
    recordHistory(stack.temporalAddress(), id, 'readiness-verbs-answered');
  }, 400_000);

  test('incident: acknowledge and resolve answered; a repeat refused naming who and when; an unknown signal on the timeline', async () => {
    const id = 'incident-verbs';
    await stack.client.workflow.start('incidentResponseWorkflow', {
      taskQueue: 'opsflow',
      workflowId: id,
      args: [{ title: 'verbs down', type: 'service_down', services: ['verbs'], severity: 'P3', source: 'api' }],
    });
    const status = () => stack.client.workflow.getHandle(id).query(incidentStatus);
    await waitFor(
      'the incident to answer, open',
      async () => ((await status().catch(() => undefined))?.state === 'open' ? true : undefined),
      120_000,
      250,
    );

    expect(await cli(['reschedule', id, '--batch', '1', '--start-at', '+1h'])).toMatchObject({
      code: 2,
      stderr: `opsflow: incidentResponseWorkflow ${id} does not take reschedule (it takes: approve, acknowledge, resolve); nothing was sent\n`,
    });
    expect(await cli(['acknowledge', id, '--by', 'alice'])).toMatchObject({
      code: 0,
      stdout: `accepted: incidentResponseWorkflow ${id} is now acknowledged\n`,
    });
    const again = await cli(['acknowledge', id, '--by', 'bob']);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(
      /^refused: incident \S+ is already acknowledged by alice at \d{4}-\d\d-\d\dT[\d:.]+Z\n$/,
    );
    expect((await status()).owner).toBe('alice');

    // Past the CLI's check: the run writes down what it ignored.
    // message-name: deliberate: a name no definition has, forced past the CLI's check
    expect(await cli(['signal', id, 'ack', '--force'])).toMatchObject({ code: 0 });
    await waitFor(
      'the ignored signal on the timeline',
      async () =>
        (await status()).timeline.some(
          (e) =>
            e.message ===
            'ignored signal "ack": not a signal of incidentResponseWorkflow (known: acknowledge, resolve, escalate, note, approve, alert)',
        )
          ? true
          : undefined,
      60_000,
      250,
    );

    expect(await cli(['resolve', id, '--by', 'alice', '--note', 'restarted'])).toMatchObject({
      code: 0,
      stdout: `accepted: incidentResponseWorkflow ${id} is now resolved\n`,
    });
    await stack.client.workflow.getHandle(id).result();
    expect(await cli(['resolve', id, '--by', 'bob'])).toMatchObject({
      code: 1,
      stderr: 'opsflow: the run has ended (completed)\n',
    });
    recordHistory(stack.temporalAddress(), id, 'incident-verbs-answered');
  }, 400_000);

  test('go-live: a paused run is found by `list --state paused`, `status` says paused first with the resume command, and a resume gives back its phase', async () => {
    const id = 'go-live-held';
    expect(
      await cli([
        'start',
        'go-live',
        '--input',
        JSON.stringify({ service: 'held', stages: { readiness: { checklist: 'verbs', deadline: '1h' } } }),
      ]),
    ).toMatchObject({ code: 0 });
    const listed = async (state: string) => (await cli(['list', '--state', state])).stdout;
    await waitFor(
      'the go-live to run its readiness stage',
      async () => ((await listed('running')).includes(id) ? true : undefined),
      120_000,
      250,
    );

    expect(await cli(['pause', id, '--by', 'ann', '--reason', 'vendor call'])).toMatchObject({
      code: 0,
      stdout: `accepted: goLiveWorkflow ${id} is now running\n`,
    });
    await waitFor('the paused go-live in `list --state paused`', async () =>
      (await listed('paused')).includes(id) ? true : undefined,
    );
    const paused = await cli(['status', id]);
    expect(paused.stdout).toMatch(/^state: +paused \(running: no next stage starts until resumed\)/m);
    expect(paused.stdout).toMatch(/^waits for: a person's resume \(paused by ann at /m);
    expect(paused.stdout).toMatch(new RegExp(`^act: +opsflow resume ${id}$`, 'm'));
    expect(await cli(['pause', id, '--by', 'bob'])).toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/^refused: already paused by ann at /),
    });

    expect(await cli(['resume', id, '--by', 'ann'])).toMatchObject({ code: 0 });
    await waitFor('the resumed go-live back in `list --state running`', async () =>
      (await listed('running')).includes(id) && !(await listed('paused')).includes(id) ? true : undefined,
    );
    expect((await cli(['status', id])).stdout).toMatch(/^state: +running/m);
    expect(await cli(['abort', id, '--by', 'ann', '--reason', 'test over'])).toMatchObject({ code: 0 });
    await stack.client.workflow
      .getHandle(id)
      .result()
      .catch(() => undefined);
  }, 400_000);
});

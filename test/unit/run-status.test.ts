import { phasedRolloutInput } from '../../src/domain/rollout/input';
import { RolloutRun } from '../../src/workflows/rollout/state';
import { ReadinessRun } from '../../src/workflows/readiness/state';
import { renderReadinessDetails, readinessWaitSummary } from '../../src/workflows/readiness/report';
import { fromEvidence } from '../../src/domain/readiness/evidence';
import {
  DECISIONS_SHOWN,
  decisionLine,
  formatStatus,
  knowsStatus,
  statusView,
  type RunInfo,
} from '../../src/client/run-status';
import { approvalWaitText, opsflowCommand, pausedText, signOffCommand } from '../../src/domain/operator-commands';
import { workflowEntries } from '../../src/client/registry';

/**
 * `opsflow status` in words, from the statuses the workflows' own state classes build: what the run
 * is, its state and step, what it waits for and the exact command that acts on it.
 */
const input = phasedRolloutInput.parse({
  service: 'checkout-api',
  lb: 'edge',
  backends: { old: 'blue', new: 'green' },
  metricSources: ['probe'],
  sampleInterval: '1m',
  steps: [
    { weight: 10, window: '2m' },
    { weight: 50, window: '2m' },
    { weight: 100, window: '2m' },
  ],
  requireApproval: true,
});
let clock = 0;
const rolloutRun = () =>
  new RolloutRun(input, undefined, () => new Date(Date.UTC(2026, 0, 1, 10) + clock++ * 1000).toISOString());
const running = (workflowId: string, type: string): RunInfo => ({
  workflowId,
  type,
  execution: 'RUNNING',
  startTime: new Date('2026-01-01T09:59:00Z'),
});

describe('opsflow status in words', () => {
  test('a rollout awaiting approval: the step, since when, whose approve it waits for and the command', () => {
    const run = rolloutRun();
    run.startStep(0);
    run.awaitApproval(0);
    run.enter('awaiting-approval');
    const since = run.status.since;
    const info = running('rollout-checkout-api', 'phasedRolloutWorkflow');
    const view = statusView(info, run.status);
    expect(view).toMatchObject({
      state: 'awaiting approval',
      step: 'step 1/3 (10 %)',
      since,
      waits: "a person's approve of step 1/3 (10 %) (anyone may approve)",
      commands: ['opsflow approve rollout-checkout-api', "opsflow abort rollout-checkout-api --reason '…'"],
    });
    const text = formatStatus(info, view);
    expect(text.split('\n')[0]).toBe(
      'rollout-checkout-api (phased-rollout) — phased rollout of checkout-api on edge: blue → green, 10% → 50% → 100%; started 2026-01-01T09:59:00.000Z',
    );
    expect(text).toContain(`state:     awaiting approval, step 1/3 (10 %) (since ${since})`);
    expect(text).toContain('act:       opsflow approve rollout-checkout-api');
    // the UI's details name the same command
    expect(run.details('rollout-checkout-api')).toContain(approvalWaitText('step 1/3 (10 %)', 'rollout-checkout-api'));
    expect(approvalWaitText('step 1/3 (10 %)', 'rollout-checkout-api')).toBe(
      'awaiting approval of step 1/3 (10 %) — `opsflow approve rollout-checkout-api`',
    );
  });

  test('a paused rollout reads as paused, by whom and since when, with resume as the command', () => {
    const run = rolloutRun();
    run.startStep(1);
    run.enter('monitoring');
    run.onOperator(run.controls.apply('pause', { by: 'ann', reason: 'look at the logs' }, '2026-01-01T10:05:00.000Z'));
    expect(run.status).toMatchObject({
      state: 'monitoring',
      paused: true,
      pausedBy: { by: 'ann', at: '2026-01-01T10:05:00.000Z' },
    });
    const view = statusView(running('rollout-checkout-api', 'phasedRolloutWorkflow'), run.status);
    expect(view.state).toBe('paused (the window goes on sampling; no next step until resumed)');
    expect(view.since).toBe('2026-01-01T10:05:00.000Z');
    expect(view.waits).toBe("a person's resume (paused by ann at 2026-01-01T10:05:00.000Z)");
    expect(view.commands[0]).toBe('opsflow resume rollout-checkout-api');
    expect(run.details('rollout-checkout-api')).toContain(
      pausedText('rollout-checkout-api', { by: 'ann', at: '2026-01-01T10:05:00.000Z' }),
    );
    // a resume ends it: the run reads as monitoring again, and pause is what acts on it
    run.onOperator(run.controls.apply('resume', { by: 'ann' }));
    expect(run.status.pausedBy).toBeUndefined();
    const after = statusView(running('rollout-checkout-api', 'phasedRolloutWorkflow'), run.status);
    expect(after.state).toBe('monitoring');
    expect(after.commands[0]).toBe('opsflow pause rollout-checkout-api');
  });

  test('paused first: a deploy paused mid-batch and a rollout paused while awaiting approval read as paused, with resume among the commands', () => {
    const dep = statusView(running('deploy-shop', 'deployWorkflow'), {
      kind: 'deploy',
      service: 'shop',
      phase: 'deploying',
      batch: 1,
      paused: true,
      pausedBy: { by: 'ann', at: '2026-01-01T10:05:00.000Z' },
      batches: [['h1'], ['h2']],
      hosts: { h1: { state: 'building' }, h2: { state: 'pending' } },
      log: [],
    });
    expect(dep).toMatchObject({
      state: 'paused (deploying: the batch under way finishes, no next one starts)',
      since: '2026-01-01T10:05:00.000Z',
      waits: "a person's resume (paused by ann at 2026-01-01T10:05:00.000Z)",
      commands: ['opsflow resume deploy-shop', "opsflow abort deploy-shop --reason '…'"],
    });
    const run = rolloutRun();
    run.startStep(0);
    run.enter('awaiting-approval');
    run.awaitApproval(0);
    run.onOperator(run.controls.apply('pause', { by: 'ann' }, '2026-01-01T10:05:00.000Z'));
    const roll = statusView(running('rollout-checkout-api', 'phasedRolloutWorkflow'), run.status);
    expect(roll.state).toBe('paused (awaiting approval)');
    expect(roll.waits).toMatch(/^a person's approve of step 1\/3/);
    expect(roll.commands).toEqual([
      'opsflow approve rollout-checkout-api',
      'opsflow resume rollout-checkout-api',
      "opsflow abort rollout-checkout-api --reason '…'",
    ]);
  });

  test('a monitoring rollout waits for a timer: the next gate sample and when', () => {
    const run = rolloutRun();
    run.startStep(0);
    run.enter('monitoring');
    run.beginWindow(0, 1, '2026-01-01T10:00:00.000Z');
    const view = statusView(running('rollout-checkout-api', 'phasedRolloutWorkflow'), run.status);
    expect(view.waits).toBe('a timer: gate sample 2/2 of step 1/3 (10 %) at 2026-01-01T10:02:00.000Z');
  });

  test('only the last decisions are shown, each with its time', () => {
    const run = rolloutRun();
    for (let i = 0; i < 8; i++) run.decide(`decision ${i}`);
    const view = statusView(running('rollout-checkout-api', 'phasedRolloutWorkflow'), run.status);
    expect(view.decisions).toHaveLength(DECISIONS_SHOWN);
    expect(view.decisions.at(-1)).toMatch(/^2026-01-01T10:\d\d:\d\d\.000Z decision 7$/);
    expect(decisionLine({ at: 'T', message: 'acknowledged', by: 'bob' })).toBe('T acknowledged (by bob)');
    expect(decisionLine('plain words')).toBe('plain words');
  });

  test('an ended run: its last state, how the run ended, and `opsflow result` as what acts on it', () => {
    const run = rolloutRun();
    run.startStep(0);
    run.awaitApproval(0);
    run.enter('awaiting-approval');
    const info: RunInfo = {
      ...running('rollout-checkout-api', 'phasedRolloutWorkflow'),
      execution: 'TERMINATED',
      closeTime: new Date('2026-01-01T11:00:00Z'),
    };
    const view = statusView(info, run.status);
    expect(view.state).toBe('awaiting approval — run terminated at 2026-01-01T11:00:00.000Z');
    expect(view.waits).toBeUndefined();
    expect(view.commands).toEqual(['opsflow result rollout-checkout-api']);
  });

  test('a readiness gate: what blocks, who must sign, the sign-off and recheck commands; details and timer summary say the same', () => {
    const run = new ReadinessRun('shop', 'go-live');
    run.load(
      [
        { id: 'tls', check: 'tls', description: 'certificate' },
        { id: 'training', check: 'signOff', description: 'on-call trained' },
      ],
      '2026-01-02T00:00:00.000Z',
    );
    run.checking(['tls']);
    run.checked(
      fromEvidence('tls', [
        { what: 'days to expiry', value: '3 days', threshold: '> 14 days', target: 'shop:443', at: 'T', ok: false },
      ]),
    );
    run.evaluate(Date.parse('2026-01-01T00:00:00Z'));
    run.waiting();
    const view = statusView(running('readiness-shop', 'readinessCheckWorkflow'), run.status);
    expect(view.state).toBe('waiting');
    expect(view.waits).toBe(
      'sign-off of training; a fix and recheck (or waiver) of tls; closes NOT READY at 2026-01-02T00:00:00.000Z',
    );
    expect(view.commands).toEqual([
      signOffCommand('readiness-shop', 'training'),
      'opsflow signal readiness-shop recheck',
      "opsflow abort readiness-shop --reason '…'",
    ]);
    expect(signOffCommand('readiness-shop', 'training')).toBe('opsflow sign-off readiness-shop --item training');
    const details = renderReadinessDetails(run.status, 'readiness-shop');
    expect(details.split('\n')[0]).toBe(
      '**NOT READY — blocking: tls, training** (gate open until 2026-01-02T00:00:00.000Z)',
    );
    expect(details).toContain(
      `- training: waits for a person's sign-off — \`${signOffCommand('readiness-shop', 'training')}\``,
    );
    expect(details).toContain('- tls: failing — fix, then `opsflow signal readiness-shop recheck`');
    expect(readinessWaitSummary(run.status, '2026-01-02T00:00:00.000Z', true, 'readiness-shop')).toBe(
      'NOT READY, blocking: tls, training; waiting for a sign-off, waiver or recheck (`opsflow sign-off readiness-shop --item training`, `opsflow signal readiness-shop recheck`) — closes NOT READY at 2026-01-02T00:00:00.000Z',
    );
    // a closed gate's details are its report, with no command to act on it
    run.finish('test');
    expect(renderReadinessDetails(run.status, 'readiness-shop')).not.toContain('recheck`');
  });

  test('every other long workflow reads: a cutover and a deploy awaiting approval, a paused migration, an incident to acknowledge, a go-live stage', () => {
    const cut = statusView(running('cutover-portal', 'userCutoverWorkflow'), {
      service: 'portal',
      state: 'waiting',
      current: 0,
      paused: false,
      awaitingApproval: 1,
      batches: [
        { name: 'staff', state: 'waiting' },
        { name: 'managers', state: 'scheduled' },
      ],
      decisions: [{ at: '2026-01-01T10:00:00.000Z', text: 'planned' }],
    });
    expect(cut).toMatchObject({
      step: 'batch 1/2 "staff" (waiting)',
      since: '2026-01-01T10:00:00.000Z',
      waits: 'a person\'s approve of batch 1/2 "staff" (anyone may approve)',
    });
    expect(cut.commands[0]).toBe('opsflow approve cutover-portal');
    const scheduled = statusView(running('cutover-portal', 'userCutoverWorkflow'), {
      service: 'portal',
      state: 'waiting',
      paused: false,
      batches: [],
      nextStartAt: '2026-01-01T12:00:00.000Z',
      decisions: [],
    });
    expect(scheduled.waits).toBe('a timer: the next batch starts at 2026-01-01T12:00:00.000Z');

    const dep = statusView(running('deploy-shop', 'deployWorkflow'), {
      kind: 'deploy',
      service: 'shop',
      ref: 'main',
      commit: 'abcdef1234567890',
      phase: 'awaiting-approval',
      batch: 0,
      awaitingApproval: 'batch 1/2 (h1)',
      batches: [['h1'], ['h2']],
      hosts: { h1: { state: 'pending' }, h2: { state: 'pending' } },
      log: ['resolved main'],
    });
    expect(dep).toMatchObject({
      what: 'deploy of shop main (abcdef123456): 2 hosts in 2 batches',
      state: 'awaiting approval',
      waits: "a person's approve of batch 1/2 (h1) (anyone may approve)",
    });
    expect(dep.commands[0]).toBe('opsflow approve deploy-shop');

    const mig = statusView(running('data-migration-orders', 'dataMigrationWorkflow'), {
      name: 'orders',
      mode: 'copy',
      phase: 'copying',
      paused: true,
      chunks: { total: 10, copied: 4, verified: 0 },
      decisions: [],
    });
    expect(mig).toMatchObject({
      state: 'paused (copying: no chunk starts until resumed)',
      step: 'chunks: 4/10 copied, 0 verified',
      commands: ['opsflow resume data-migration-orders'],
    });

    const inc = statusView(running('incident-fp1', 'incidentResponseWorkflow'), {
      id: 'INC-1',
      severity: 'P1',
      title: 'checkout down',
      type: 'service_down',
      services: ['checkout'],
      state: 'open',
      escalationLevel: 1,
      pendingApproval: 'restart',
      timeline: [{ seq: 1, at: '2026-01-01T10:00:00.000Z', kind: 'opened', message: 'opened' }],
    });
    expect(inc.waits).toBe("a person's approve of runbook step restart");
    expect(inc.commands).toEqual([
      'opsflow approve incident-fp1 --step restart',
      'opsflow acknowledge incident-fp1',
      'opsflow resolve incident-fp1',
    ]);

    const gl = statusView(running('go-live-shop', 'goLiveWorkflow'), {
      service: 'shop',
      phase: 'running',
      current: 'rollout',
      paused: false,
      stays: [],
      decisions: [],
      stages: [
        { stage: 'readiness', state: 'succeeded', workflowId: 'readiness-shop' },
        { stage: 'rollout', state: 'awaiting-approval', workflowId: 'rollout-shop' },
      ],
    });
    expect(gl).toMatchObject({
      waits: "a person's approve of stage rollout",
      commands: ['opsflow approve go-live-shop', "opsflow abort go-live-shop --reason '…'"],
    });
  });

  test('every workflow with a status query has a reader; one without (the digest) is said, not guessed', () => {
    const withStatus = workflowEntries.map((e) => e.type).filter((t) => t !== 'incidentDigestWorkflow');
    expect(withStatus.filter((t) => !knowsStatus(t))).toEqual([]);
    expect(knowsStatus('incidentDigestWorkflow')).toBe(false);
    const hc = statusView(running('health-check-1', 'healthCheckWorkflow'), {
      phase: 'done',
      notified: [],
      report: {
        overall: 'down',
        summary: '1/2 healthy',
        failing: [{ kind: 'http', target: 'web', status: 'down', message: 'refused' }],
      },
    });
    expect(hc).toMatchObject({ state: 'done: 1/2 healthy (down)', decisions: ['web: down — refused'], commands: [] });
  });

  test('a command is one shell word per argument: ids that need quoting are quoted', () => {
    expect(opsflowCommand('approve', 'rollout-checkout-api')).toBe('opsflow approve rollout-checkout-api');
    expect(opsflowCommand('abort', "odd id's")).toBe(`opsflow abort 'odd id'\\''s'`);
  });
});

import { evaluateGate, type Sample } from '../../src/domain/gate/evaluate';
import { phasedRolloutInput, type RolloutPlan } from '../../src/domain/rollout/input';
import { RolloutRun } from '../../src/workflows/rollout/state';
import type { RolloutCarry } from '../../src/workflows/rollout/status';
import { Stop } from '../../src/workflows/common/gate-window';

/**
 * The rollout's state without Temporal: what the signal handlers, the approval wait, the hold and
 * continue-as-new do to it, in the orders people and timing can produce.
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
const plan: RolloutPlan = {
  lbKind: 'http-api',
  supportsCohorts: true,
  gate: { errorRatePercent: 5 },
  providers: { errorRatePercent: ['probe'] },
  notes: ['a note'],
};

let clock = 0;
const newRun = (carried?: RolloutCarry) =>
  new RolloutRun(input, carried, () => new Date(Date.UTC(2026, 0, 1) + clock++ * 1000).toISOString());
const signal = (
  run: RolloutRun,
  name: 'approve' | 'pause' | 'resume' | 'abort',
  a?: { step?: number; by?: string; reason?: string },
) => run.onOperator(run.controls.apply(name, a));
const decisions = (run: RolloutRun) => run.status.decisions.map((d) => d.decision);

/** What the rollout's approve step does around its wait (steps.ts `approve`, common `takeApproval`). */
function approvalWait(run: RolloutRun, i: number) {
  run.startStep(i);
  run.awaitApproval(i);
  run.controls.discardApprovalsBefore(i + 1);
  return {
    outcome: () => run.controls.approvalOutcome(i + 1, run.status.approved.includes(i + 1)),
    end: () => {
      const outcome = run.controls.approvalOutcome(i + 1, run.status.approved.includes(i + 1));
      if (outcome === 'approved') run.controls.consumeApprovalsFor(i + 1);
      run.approvalEnded(i, outcome!);
    },
  };
}

const sample = (value: number | undefined): Sample => ({
  at: '2026-01-01T00:00:00Z',
  readings: [
    value === undefined
      ? { metric: 'errorRatePercent', source: 'probe', inconclusive: 'no answer' }
      : { metric: 'errorRatePercent', source: 'probe', value },
  ],
});
/** Takes sample k of step i's window with the given error rate (undefined: inconclusive). */
function take(run: RolloutRun, i: number, k: number, value: number | undefined) {
  const result = evaluateGate(plan.gate, sample(value));
  run.recordSample(i, k, sample(value), result);
  return { action: run.countSample(k, result.verdict), verdict: result.verdict };
}

describe('rollout state', () => {
  test('pause then resume: the status says so, a paused window does not end, and the log names who', () => {
    const run = newRun();
    run.planned(plan);
    run.startStep(0);
    run.beginWindow(0, 0, '2026-01-01T00:00:00Z');
    signal(run, 'pause', { by: 'ann', reason: 'checking dashboards' });
    expect(run.status.paused).toBe(true);
    expect(run.details()).toContain('**paused**');
    take(run, 0, 1, 1);
    expect(take(run, 0, 2, 1).verdict).toBe('pass');
    expect(run.windowPassed(0, 2, 2, 'pass')).toBe(false);
    expect(run.promoteAccepted(2, 2, 'pass')).toBe(false);
    signal(run, 'resume', { by: 'bob' });
    expect(run.status.paused).toBe(false);
    expect(run.windowPassed(0, 2, 2, 'pass')).toBe(true);
    expect(decisions(run).slice(-4)).toEqual([
      'paused by ann: checking dashboards',
      'promote refused at sample 2/2: paused',
      'resumed by bob',
      'step 1/3 (10 %) passed: 2 samples, latest pass',
    ]);
  });

  test('signals in odd orders: resume before any pause, pause after an abort; the abort still stops', () => {
    const run = newRun();
    signal(run, 'resume');
    expect(run.status.paused).toBe(false);
    signal(run, 'abort', { by: 'ann', reason: 'bad release' });
    signal(run, 'pause', { by: 'bob' });
    signal(run, 'abort', { by: 'carl', reason: 'late' });
    signal(run, 'approve');
    expect(run.status.paused).toBe(true);
    const wait = approvalWait(run, 0);
    expect(wait.outcome()).toBe('aborted');
    expect(() => wait.end()).toThrow(Stop);
    expect(run.status.awaitingApproval).toBeUndefined();
    expect(run.status.approved).toEqual([]);
    // The first abort counts: who and why stay those of ann's.
    expect(() => run.checkAbort('before step 1/3 (10 %)')).toThrow(
      'aborted by ann before step 1/3 (10 %): bad release',
    );
    expect(decisions(run)).toContain('abort received from carl: bad release');
  });

  test('duplicate approvals approve one step, not the next', () => {
    const run = newRun();
    const first = approvalWait(run, 0);
    expect(first.outcome()).toBeUndefined();
    signal(run, 'approve', { by: 'ann' });
    signal(run, 'approve', { by: 'ann' });
    signal(run, 'approve', { step: 1, by: 'bob' });
    expect(first.outcome()).toBe('approved');
    first.end();
    expect(run.status.approved).toEqual([1]);
    const second = approvalWait(run, 1);
    expect(second.outcome()).toBeUndefined();
    expect(run.status.awaitingApproval).toBe(2);
  });

  test('a bare approve sent before a step waits is not taken for that step', () => {
    const run = newRun();
    signal(run, 'approve', { by: 'early' });
    expect(approvalWait(run, 0).outcome()).toBeUndefined();
  });

  test('an approve of a later step before it is reached waits for that step; one of an earlier step is dropped', () => {
    const run = newRun();
    signal(run, 'approve', { step: 3, by: 'ann' });
    signal(run, 'approve', { step: 2, by: 'bob' });
    const first = approvalWait(run, 0);
    expect(first.outcome()).toBeUndefined();
    signal(run, 'approve', { step: 1 });
    first.end();
    const second = approvalWait(run, 1);
    expect(second.outcome()).toBe('approved');
    second.end();
    // Sent during step 2, naming step 2 again: stale by the time step 3 waits.
    signal(run, 'approve', { step: 2 });
    const third = approvalWait(run, 2);
    expect(run.controls.pendingApprovals).toEqual([{ step: 3, by: 'ann' }]);
    expect(third.outcome()).toBe('approved');
    third.end();
    expect(run.status.approved).toEqual([1, 2, 3]);
    expect(run.controls.pendingApprovals).toEqual([]);
    expect(decisions(run)).toContain('approve received for step 3 from ann');
  });

  test('abort during a hold ends the hold as an abort; a resume sent before the hold does not end it', () => {
    const run = newRun();
    run.planned(plan);
    run.startStep(1);
    run.beginWindow(1, 0, '2026-01-01T00:00:00Z');
    signal(run, 'resume', { by: 'early' });
    expect(take(run, 1, 1, undefined).action).toBe('continue');
    expect(take(run, 1, 2, undefined).action).toBe('continue');
    expect(take(run, 1, 3, undefined).action).toBe('hold');
    expect(run.holdReason(1)).toBe('3 inconclusive samples in a row at step 2/3 (50 %)');
    run.controls.expectResume();
    expect(run.controls.resumeWaitOver).toBe(false);
    signal(run, 'abort', { by: 'ann', reason: 'metrics are down, stop' });
    expect(run.controls.resumeWaitOver).toBe(true);
    expect(() => run.checkAbort('while held')).toThrow('aborted by ann while held: metrics are down, stop');
  });

  test('a resume during a hold answers it and restarts the inconclusive count', () => {
    const run = newRun();
    run.planned(plan);
    run.startStep(0);
    run.beginWindow(0, 0, '2026-01-01T00:00:00Z');
    for (let k = 1; k <= 3; k++) take(run, 0, k, undefined);
    run.controls.expectResume();
    signal(run, 'resume', { by: 'ann' });
    expect(run.controls.resumeWaitOver).toBe(true);
    expect(() => run.checkAbort('while held')).not.toThrow();
    run.holdAnswered();
    expect(run.status.counters).toMatchObject({ consecutiveInconclusive: 0, totalInconclusive: 3 });
    expect(take(run, 0, 4, undefined).action).toBe('continue');
  });

  test('continue-as-new carry round trip: the next run picks up the same window, approvals, pause and log', () => {
    const run = newRun();
    run.planned(plan);
    run.startStep(1);
    run.beginWindow(1, 0, '2026-01-01T00:10:00Z');
    take(run, 1, 1, 1);
    take(run, 1, 2, 9);
    signal(run, 'approve', { step: 3, by: 'ann' });
    signal(run, 'pause', { by: 'bob' });
    run.promote('carl');
    const carried: RolloutCarry = JSON.parse(JSON.stringify(run.carry(1, 2, '2026-01-01T00:10:00Z')));
    const next = newRun(carried);
    expect(next.status).toEqual(run.status);
    expect(next.status.paused).toBe(true);
    expect(next.controls.carry()).toEqual(run.controls.carry());
    expect(next.resumesAt(1)).toEqual(carried);
    expect(next.resumesAt(2)).toBeUndefined();
    // A promote is for the wait it came in; the new run waits afresh.
    expect(next.promotePending).toBe(false);
    expect(next.status.counters).toMatchObject({ consecutiveFailures: 1, totalFailures: 1 });
    const third = approvalWait(next, 2);
    expect(third.outcome()).toBe('approved');
    next.decide('after the carry');
    expect(decisions(next).slice(-1)).toEqual(['after the carry']);
    expect(decisions(next).length).toBe(decisions(run).length + 1);
  });

  test('an abort that came but was not acted on crosses continue-as-new', () => {
    const run = newRun();
    signal(run, 'abort', { by: 'ann', reason: 'stop' });
    const next = newRun(JSON.parse(JSON.stringify(run.carry(0, 1, '2026-01-01T00:00:00Z'))));
    expect(() => next.checkAbort('at step 1/3 (10 %)')).toThrow('aborted by ann at step 1/3 (10 %): stop');
  });

  test('the decision log keeps the newest 100', () => {
    const run = newRun();
    for (let n = 0; n < 130; n++) run.decide(`d${n}`);
    expect(decisions(run)).toHaveLength(100);
    expect(decisions(run)[0]).toBe('d30');
  });

  test('a run cut short says how; one that ended on its own is left alone', () => {
    const planning = newRun();
    expect(planning.cutShort({ kind: 'failed', message: 'LB unknown' })).toEqual({
      context: 'cannot roll out checkout-api, nothing was changed',
    });
    expect(planning.status.failure).toBe('failed: LB unknown');

    const rollingBack = newRun();
    rollingBack.enter('rolling-back');
    expect(rollingBack.cutShort({ kind: 'failed', message: 'LB 503' })).toEqual({
      context: 'rollback of checkout-api on edge failed, green may still get traffic',
    });
    expect(rollingBack.status.state).toBe('rollback-failed');

    const monitoring = newRun();
    monitoring.enter('monitoring');
    expect(monitoring.cutShort({ kind: 'cancelled', message: 'cancelled' })).toEqual({});
    expect(monitoring.status.failure).toBe('cancelled (was monitoring): cancelled');

    const done = newRun();
    done.enter('rolled-back');
    expect(done.cutShort({ kind: 'failed', message: 'x' })).toBeUndefined();
    expect(done.status.failure).toBeUndefined();
  });
});

test('a gate from a baseline is recorded before the plan, said after a failure it judged, and carried with the status', () => {
  const run = newRun();
  expect(run.gateOrigin()).toBe('');
  const description = 'gate from baseline of checkout-api taken 2026-11-20 14:00: errorRatePercent 10 %, p95Ms 1800 ms';
  run.gateResolved({
    gate: { errorRatePercent: 10, p95Ms: 1800 },
    sources: { errorRatePercent: 'baseline http:a', p95Ms: 'baseline http:a' },
    description,
  });
  run.planned({ ...plan, gate: { errorRatePercent: 10, p95Ms: 1800 } });
  expect(decisions(run).slice(0, 2)).toEqual([description, 'a note']);
  expect(run.gateOrigin()).toBe(`; ${description}`);
  const next = newRun(JSON.parse(JSON.stringify(run.carry(0, 3, '2026-01-01T00:00:00.000Z'))));
  expect(next.status.gateFrom?.gate).toEqual({ errorRatePercent: 10, p95Ms: 1800 });
  expect(next.gateOrigin()).toBe(`; ${description}`);
});

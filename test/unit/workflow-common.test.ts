import { appendBounded, DecisionLog } from '../../src/workflows/common/decision-log';
import { OperatorControls } from '../../src/workflows/common/operator-controls';
import { ignoredSignalText, refusal, type ControlsView } from '../../src/workflows/common/operator-refusal';

describe('bounded decision log', () => {
  test('keeps the newest entries, oldest dropped, in the same array', () => {
    const entries: number[] = [];
    const log = new DecisionLog(entries, 3);
    for (let i = 1; i <= 5; i++) log.add(i);
    expect(entries).toEqual([3, 4, 5]);
    expect(log.entries).toBe(entries);
  });

  test('a carried array goes on where it stopped', () => {
    const carried = JSON.parse(JSON.stringify([1, 2, 3])) as number[];
    new DecisionLog(carried, 3).add(4);
    expect(carried).toEqual([2, 3, 4]);
  });

  test('appendBounded trims a list that was already too long', () => {
    const list = [1, 2, 3, 4];
    appendBounded(list, 5, 2);
    expect(list).toEqual([4, 5]);
  });

  test('a max that is not a positive integer is refused, naming it', () => {
    expect(() => new DecisionLog([], 0)).toThrow(/max must be a positive integer \(got 0\)/);
  });
});

describe('operator controls (pure transitions)', () => {
  test('pause and resume, with words for the log', () => {
    const c = new OperatorControls();
    expect(c.pause({ by: 'ann', reason: 'lunch' }).text).toBe('paused by ann: lunch');
    expect(c.paused).toBe(true);
    expect(c.resume({ by: 'bob' }).text).toBe('resumed by bob');
    expect(c.paused).toBe(false);
    expect(c.resumeRequested).toBe(true);
  });

  test('a resume before any pause leaves it unpaused; a second pause changes nothing', () => {
    const c = new OperatorControls();
    c.resume();
    c.pause();
    c.pause();
    expect(c.paused).toBe(true);
    c.resume();
    expect(c.paused).toBe(false);
  });

  test('the first abort counts; later ones are logged with its reason', () => {
    const c = new OperatorControls();
    expect(c.abortMessage('at step 1')).toBeUndefined();
    expect(c.abort({ by: 'ann', reason: 'bad deploy' }).text).toBe('abort received from ann: bad deploy');
    expect(c.abort({ by: 'bob', reason: 'other' }).text).toBe('abort received from bob: bad deploy');
    expect(c.aborted).toEqual({ reason: 'bad deploy', by: 'ann' });
    expect(c.abortMessage('at step 2/3 (50 %)')).toBe('aborted by ann at step 2/3 (50 %): bad deploy');
  });

  test('an abort without a reason says so', () => {
    const c = new OperatorControls();
    c.apply('abort', undefined);
    expect(c.abortMessage('before step 1')).toBe('aborted before step 1: no reason given');
  });

  test('approvals: a bare one is for the waiting step, one naming a later step waits for it', () => {
    const c = new OperatorControls();
    expect(c.approve({ step: 3, by: 'ann' }).text).toBe('approve received for step 3 from ann');
    c.approve();
    c.approve({ step: 1 });
    // Step 2's wait begins: what was sent before it and not for a later step is dropped.
    c.discardApprovalsBefore(2);
    expect(c.pendingApprovals).toEqual([{ step: 3, by: 'ann' }]);
    expect(c.hasApprovalFor(2)).toBe(false);
    expect(c.hasApprovalFor(3)).toBe(true);
    c.approve({ step: 2 });
    c.approve({ step: 2 });
    c.consumeApprovalsFor(2);
    expect(c.pendingApprovals).toEqual([{ step: 3, by: 'ann' }]);
  });

  test('carry round trip through JSON keeps pause, approvals and the abort', () => {
    const c = new OperatorControls();
    c.pause();
    c.approve({ step: 4 });
    c.abort({ reason: 'stop', by: 'ann' });
    const restored = new OperatorControls(JSON.parse(JSON.stringify(c.carry())));
    expect(restored.carry()).toEqual(c.carry());
    expect(restored.paused).toBe(true);
    expect(restored.hasApprovalFor(4)).toBe(true);
    expect(restored.abortMessage('here')).toBe('aborted by ann here: stop');
    // A carry is a copy: changing the new run's state leaves the old one's alone.
    restored.consumeApprovalsFor(4);
    expect(c.pendingApprovals).toEqual([{ step: 4 }]);
  });
});

describe('operator actions as Updates: the validators refuse with why', () => {
  const at = '2026-12-07T10:02:00.000Z';
  const view = (over: Partial<ControlsView> = {}): ControlsView => ({
    paused: false,
    pendingApprovals: [],
    held: false,
    state: 'monitoring',
    ...over,
  });

  test('approve when nothing waits and no later step is named: not waiting, with the state', () => {
    expect(refusal('approve', { by: 'alice' }, view())).toBe('not waiting for approval (state: monitoring)');
    expect(refusal('approve', { by: 'alice', step: 1 }, view({ lastAwaited: 1 }))).toBe(
      'not waiting for approval (state: monitoring)',
    );
    // A later step may be approved ahead of its wait.
    expect(refusal('approve', { by: 'alice', step: 2 }, view({ lastAwaited: 1 }))).toBeUndefined();
    expect(refusal('approve', { by: 'alice' }, view({ awaiting: 1, state: 'awaiting-approval' }))).toBeUndefined();
  });

  test('the same person approving the same step again: already approved by whom and when', () => {
    const approvals = [{ step: 2, by: 'alice', at }];
    expect(refusal('approve', { by: 'alice' }, view({ awaiting: 2, approvals }))).toBe(
      `step 2 already approved by alice at ${at}`,
    );
    expect(refusal('approve', { by: 'bob' }, view({ awaiting: 2, approvals }))).toBeUndefined();
    expect(refusal('approve', { by: 'alice', step: 1 }, view({ awaiting: 2 }))).toBe(
      'step 1 is past: waiting for approval of step 2',
    );
  });

  test('pause when paused, resume when neither paused nor held, abort twice', () => {
    expect(refusal('pause', { by: 'ann' }, view({ paused: true, pausedBy: { by: 'bob', at } }))).toBe(
      `already paused by bob at ${at}`,
    );
    expect(refusal('pause', { by: 'ann' }, view())).toBeUndefined();
    expect(refusal('resume', {}, view())).toBe('not paused and not held (state: monitoring)');
    expect(refusal('resume', {}, view({ held: true }))).toBeUndefined();
    expect(refusal('resume', {}, view({ paused: true }))).toBeUndefined();
    const aborted = { reason: 'bad metrics', by: 'carol', at };
    expect(refusal('abort', { by: 'dan' }, view({ aborted }))).toBe(`already aborted by carol at ${at}: bad metrics`);
    expect(refusal('approve', { by: 'dan' }, view({ aborted, awaiting: 1 }))).toBe(
      `already aborted by carol at ${at}: bad metrics`,
    );
    expect(refusal('abort', {}, view())).toBeUndefined();
  });

  test('who and when survive continue-as-new, so a refusal after it still names them', () => {
    const c = new OperatorControls();
    c.pause({ by: 'bob' }, at);
    c.approve({ step: 3, by: 'alice' }, at);
    c.abort({ by: 'carol', reason: 'stop' }, at);
    const restored = new OperatorControls(JSON.parse(JSON.stringify(c.carry())));
    expect(restored.refusal('pause', { by: 'x' })).toBe(`already aborted by carol at ${at}: stop`);
    const view2 = restored.view();
    expect(view2.pausedBy).toEqual({ by: 'bob', at });
    expect(view2.approvals).toEqual([{ step: 3, by: 'alice', at }]);
  });

  test('an Update says when in its words; a signal keeps its words (its entry has a time)', () => {
    expect(new OperatorControls().apply('pause', { by: 'bob', at })).toMatchObject({ text: `paused by bob at ${at}` });
    expect(new OperatorControls().apply('pause', { by: 'bob' }, at)).toMatchObject({ text: 'paused by bob' });
  });

  test('an unknown signal is named with the workflow and the signals it knows', () => {
    expect(
      ignoredSignalText('aprove', 'phasedRolloutWorkflow', ['approve', 'pause', 'resume', 'abort', 'promote']),
    ).toBe(
      'ignored signal "aprove": not a signal of phasedRolloutWorkflow (known: approve, pause, resume, abort, promote)',
    );
  });
});

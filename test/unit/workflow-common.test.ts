import { appendBounded, DecisionLog } from '../../src/workflows/common/decision-log';
import { OperatorControls } from '../../src/workflows/common/operator-controls';

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
    expect(c.pendingApprovals).toEqual([{ step: 3 }]);
    expect(c.hasApprovalFor(2)).toBe(false);
    expect(c.hasApprovalFor(3)).toBe(true);
    c.approve({ step: 2 });
    c.approve({ step: 2 });
    c.consumeApprovalsFor(2);
    expect(c.pendingApprovals).toEqual([{ step: 3 }]);
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

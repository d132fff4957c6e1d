import { incidentInput } from '../../src/domain/incident/incident';
import type { RunbookStep } from '../../src/domain/incident/runbook';
import { IncidentState } from '../../src/workflows/incident/state';
import { incidentResult, incidentStatus } from '../../src/workflows/incident/status';

/** A clock that moves one minute at each reading (a transition reads it for its field, then for its timeline entry). */
function clock(start = '2026-03-04T05:00:00.000Z') {
  let t = Date.parse(start);
  return () => {
    t += 60_000;
    return new Date(t).toISOString();
  };
}

const opened = new Date('2026-03-04T05:00:00.000Z');
const failover: RunbookStep = {
  id: 'failover-database',
  kind: 'database',
  primary: 'db',
  replica: 'db-replica',
  needsApproval: true,
};
const backup: RunbookStep = {
  id: 'activate-backup-servers',
  kind: 'backup-servers',
  lb: 'edge',
  servers: ['spare-1'],
  needsApproval: true,
};
const diagnostics: RunbookStep = { id: 'diagnostics', kind: 'diagnostics', needsApproval: false };

function incident(over: Record<string, unknown> = {}) {
  const input = incidentInput.parse({
    title: 'checkout down',
    type: 'database_down',
    services: ['checkout'],
    source: 'cli',
    ...over,
  });
  return IncidentState.open(input, 'incident-test', opened, clock());
}
const kinds = (s: IncidentState) => s.timeline.map((e) => e.kind);

describe('incident state: opening', () => {
  test('classified by the built-in rules, or set by the input with the rule kept in the reason', () => {
    expect(incident().record).toMatchObject({
      id: 'INC-20260304050000',
      severity: 'P0',
      state: 'open',
      escalationLevel: 0,
      digest: false,
    });
    const set = incident({ severity: 'P2' }).record;
    expect(set.severity).toBe('P2');
    expect(set.severityReason).toMatch(/^set by cli \(rules say P0: /);
    expect(set.sla.respondMinutes).toBe(120);
  });

  test('a reclassification moves the SLA clocks with the severity', () => {
    const s = incident();
    s.reclassify({ severity: 'P3', reason: 'config says minor' });
    expect(s.record.sla).toMatchObject({
      respondMinutes: 240,
      resolveMinutes: 72 * 60,
      resolveBy: '2026-03-07T05:00:00.000Z',
    });
  });
});

describe('incident state: acknowledge and resolve in any order', () => {
  test('only the first acknowledgement counts: owner and time stay those of the first', () => {
    const s = incident();
    expect(s.acknowledge({ by: 'alice', note: 'looking' })).toBe(true);
    expect(s.acknowledge({ by: 'bob' })).toBe(false);
    expect(s.record).toMatchObject({
      state: 'acknowledged',
      owner: 'alice',
      acknowledgedAt: '2026-03-04T05:01:00.000Z',
    });
    expect(s.timeline.map((e) => e.message)).toEqual(['acknowledged by alice: looking']);
  });

  test('resolve before acknowledge: resolved, the late acknowledgement is ignored, the first response is the resolution', () => {
    const s = incident();
    expect(s.resolve({ by: 'carol' })).toBe(true);
    expect(s.acknowledge({ by: 'alice' })).toBe(false);
    expect(s.acknowledged).toBe(false);
    expect(s.record.state).toBe('resolved');
    expect(s.record.owner).toBeUndefined();
    expect(s.resolvedBy).toBe('carol');
    expect(incidentStatus(s).slaVerdict).toMatchObject({
      timeToAcknowledgeMinutes: 1,
      timeToResolveMinutes: 1,
      respondMet: true,
    });
    expect(kinds(s)).toEqual(['resolved']);
  });

  test('a second resolution changes nothing; an acknowledgement without a name keeps no owner', () => {
    const s = incident();
    s.acknowledge({});
    s.resolve({ by: 'bob', note: 'fixed' });
    expect(s.resolve({ by: 'eve' })).toBe(false);
    expect(s.record).toMatchObject({ state: 'resolved', resolvedAt: '2026-03-04T05:03:00.000Z' });
    expect(s.record.owner).toBeUndefined();
    expect(s.timeline.map((e) => [e.message, e.by])).toEqual([
      ['acknowledged', undefined],
      ['resolved by bob: fixed', 'bob'],
    ]);
  });
});

describe('incident state: escalation requests', () => {
  test('queued in order until taken; none after the resolution', () => {
    const s = incident();
    expect(s.requestEscalation({ by: 'alice', note: 'need the lead' })).toBe(true);
    s.requestEscalation({ by: 'bob' });
    expect(s.escalationRequested).toBe(true);
    expect(s.takeEscalationRequest()).toEqual({ by: 'alice', note: 'need the lead' });
    s.resolve({});
    expect(s.requestEscalation({ by: 'carol' })).toBe(false);
    expect(s.takeEscalationRequest()).toEqual({ by: 'bob' });
    expect(s.escalationRequested).toBe(false);
  });

  test('an escalation sets the level and says why and which round', () => {
    const s = incident();
    s.escalated(1, { level: 1, pass: 0, notify: ['on-call'], waitMinutes: 15 });
    s.escalated(3, { level: 1, pass: 1, notify: ['cto'], waitMinutes: 15 }, { by: 'alice' });
    expect(s.record.escalationLevel).toBe(3);
    expect(s.timeline.map((e) => [e.message, e.by])).toEqual([
      ['escalated to level 1: on-call, nobody acknowledged', undefined],
      ['escalated to level 1 (round 2): cto on request', 'alice'],
    ]);
  });
});

describe('incident state: approvals', () => {
  test('an approval while a step waits approves that step, once', () => {
    const s = incident();
    s.steps = [failover, backup];
    expect(s.mayRunWithoutWaiting(failover)).toBe(false);
    s.waitForApproval(failover, 'fail over');
    expect(incidentStatus(s).pendingApproval).toBe('failover-database');
    expect(s.approve({ by: 'bob' })).toBe('failover-database');
    expect(s.approve({ by: 'bob' })).toBe('failover-database');
    expect(s.approvalWaitOver(failover)).toBe(true);
    expect(s.pendingApproval).toBeUndefined();
    // The duplicate approved the same step again, not the next one.
    expect(s.isApproved('activate-backup-servers')).toBe(false);
    expect(s.mayRunWithoutWaiting(backup)).toBe(false);
  });

  test('an approval before any step waits goes to the next destructive step without an outcome', () => {
    const s = incident();
    s.steps = [diagnostics, { ...failover, outcome: 'ok' }, backup];
    expect(s.approve({})).toBe('activate-backup-servers');
    expect(s.mayRunWithoutWaiting(backup)).toBe(true);
    expect(s.timeline.map((e) => [e.kind, e.message, e.outcome])).toEqual([
      ['approval', 'approved activate-backup-servers', 'ok'],
    ]);
  });

  test('an approval with no destructive step planned yet approves whichever comes first, and only that one', () => {
    const s = incident();
    expect(s.approve({ by: 'alice' })).toBeUndefined();
    expect(s.timeline[0].message).toBe('approved the next destructive step by alice');
    s.steps = [failover, backup];
    expect(s.mayRunWithoutWaiting(failover)).toBe(true);
    expect(s.mayRunWithoutWaiting(backup)).toBe(false);
  });

  test('an approval of a step the runbook does not hold is recorded and approves nothing else', () => {
    const s = incident();
    s.steps = [failover];
    s.waitForApproval(failover, 'fail over');
    expect(s.approve({ step: 'reboot-the-world', by: 'mallory' })).toBe('reboot-the-world');
    expect(s.isApproved('failover-database')).toBe(false);
    expect(s.pendingApproval).toBe('failover-database');
    // Resolution ends the wait: the step is not approved, so it is skipped.
    s.resolve({});
    expect(s.approvalWaitOver(failover)).toBe(false);
    expect(s.timeline.map((e) => e.message)).toContain('approved reboot-the-world by mallory');
  });

  test('a step that needs no approval, or is approved by name in advance, runs at once', () => {
    const s = incident();
    s.approve({ step: 'activate-backup-servers' });
    expect(s.mayRunWithoutWaiting(diagnostics)).toBe(true);
    expect(s.mayRunWithoutWaiting(backup)).toBe(true);
  });
});

describe('incident state: alerts, notes, notifications, store', () => {
  test('repeated alerts are all counted; the first five repeats get a line; resolved alerts are not counted', () => {
    const s = incident();
    for (let i = 0; i < 10; i++) s.alertFired({ status: 'firing' });
    expect(s.alertFired({ status: 'resolved' })).toBe(false);
    expect(s.alertsReceived).toBe(10);
    expect(s.timeline.map((e) => e.message)).toEqual(
      [2, 3, 4, 5, 6].map((n) => `alert fired again (${n} times so far)`),
    );
  });

  test('a PagerDuty trigger is remembered once, an acknowledge is not a trigger; failures stay on the timeline', () => {
    const s = incident();
    s.notifiedOk('opened', 'pd', 'trigger');
    s.notifiedOk('escalated-1', 'pd', 'trigger');
    s.notifiedOk('opened', 'slack');
    s.notifiedOk('acknowledged', 'pd2', 'acknowledge');
    s.notifyFailed('opened', 'mail', 'HTTP 500');
    expect(s.notified).toEqual(['pd', 'slack', 'pd2']);
    expect(s.pagerDutyTriggered).toEqual(['pd']);
    expect(s.timeline.map((e) => [e.message, e.outcome])).toEqual([
      ['opened: pd (PagerDuty trigger)', 'ok'],
      ['escalated-1: pd (PagerDuty trigger)', 'ok'],
      ['opened: slack', 'ok'],
      ['acknowledged: pd2 (PagerDuty acknowledge)', 'ok'],
      ['opened: mail failed: HTTP 500', 'failed'],
    ]);
  });

  test('the store gets each timeline entry once, in order, with sequence numbers', () => {
    const s = incident();
    expect(s.dirty).toBe(false);
    s.note({ text: 'rolled back', by: 'alice' });
    s.missedRespondSla();
    expect(s.dirty).toBe(true);
    expect(s.takeUnsaved().map((e) => [e.seq, e.kind])).toEqual([
      [0, 'note'],
      [1, 'sla'],
    ]);
    expect(s.dirty).toBe(false);
    s.missedResolveSla();
    expect(s.takeUnsaved().map((e) => e.seq)).toEqual([2]);
    expect(s.takeUnsaved()).toEqual([]);
    expect(s.snapshot()).not.toHaveProperty('timeline');
    expect(incidentStatus(s)).toMatchObject({ respondSlaMissed: true, resolveSlaMissed: true });
  });

  test('the result counts the timeline and reports the SLA verdict', () => {
    const s = incident();
    s.acknowledge({ by: 'alice' });
    s.resolve({ by: 'alice' });
    expect(incidentResult(s)).toEqual({
      id: 'INC-20260304050000',
      severity: 'P0',
      state: 'resolved',
      owner: 'alice',
      slaVerdict: { timeToAcknowledgeMinutes: 1, timeToResolveMinutes: 3, respondMet: true, resolveMet: true },
      timelineEntries: 2,
      postmortemStored: true,
    });
  });
});

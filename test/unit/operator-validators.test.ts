import { approvalRuleOf, approvalSetting } from '../../src/domain/approval';
import { phasedRolloutInput } from '../../src/domain/rollout/input';
import { userCutoverInput } from '../../src/domain/cutover/input';
import { incidentInput } from '../../src/domain/incident/incident';
import { OperatorControls } from '../../src/workflows/common/operator-controls';
import { approversOf, refusal, type ControlsView } from '../../src/workflows/common/operator-refusal';
import { CutoverRun } from '../../src/workflows/cutover/state';
import { rescheduleRefusal, reschedule, skipRefusal } from '../../src/workflows/cutover/reschedule';
import { IncidentState } from '../../src/workflows/incident/state';
import { acknowledgeRefusal, approveRefusal, resolveRefusal } from '../../src/workflows/incident/handlers';
import { actionInput } from '../../src/client/commands/operator';
import { UsageError } from '../../src/client/cli-context';

const view = (over: Partial<ControlsView> = {}): ControlsView => ({
  paused: false,
  pendingApprovals: [],
  held: false,
  ...over,
});
const twoNoStarter = { approvers: 2, forbidStarter: true };

describe('approval rules: N distinct people, not the starter', () => {
  test('`approval: true` or a rule; a malformed rule is named by its field', () => {
    expect(approvalRuleOf(true)).toEqual({ approvers: 1, forbidStarter: false });
    expect(approvalRuleOf(false)).toBeUndefined();
    expect(approvalSetting.parse({ approvers: 2 })).toEqual({ approvers: 2, forbidStarter: false });
    const bad = phasedRolloutInput.safeParse({
      service: 's',
      lb: 'edge',
      steps: [{ weight: 10, window: '1m', approval: { approvers: 0 } }],
      metricSources: ['m'],
    });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toContain('"approval"');
    expect(
      userCutoverInput.safeParse({
        service: 'p',
        directory: 'd',
        router: 'r',
        metricSources: ['m'],
        requireApproval: { approvers: 2, forbidStarter: true, extra: 1 },
      }).success,
    ).toBe(false);
  });

  test('the starter is refused, naming who approved so far; an unnamed approve is refused under forbidStarter', () => {
    const v = view({ awaiting: 1, rule: twoNoStarter, startedBy: 'sam', pendingApprovals: [{ by: 'alice' }] });
    expect(refusal('approve', { by: 'sam' }, v)).toBe(
      'sam started this run and may not approve step 1 (forbidStarter); approved so far: alice (1 of 2)',
    );
    expect(refusal('approve', {}, v)).toMatch(/^by: who approves must be named/);
    expect(refusal('approve', { by: 'bob' }, v)).toBeUndefined();
  });

  test('the same person twice is refused with when, and who approved so far', () => {
    const v = view({
      awaiting: 2,
      rule: twoNoStarter,
      startedBy: 'sam',
      pendingApprovals: [{ by: 'alice' }],
      approvals: [{ step: 2, by: 'alice', at: '2026-12-07T10:02:00.000Z' }],
    });
    expect(refusal('approve', { by: 'alice' }, v)).toBe(
      'step 2 already approved by alice at 2026-12-07T10:02:00.000Z; approved so far: alice (1 of 2)',
    );
  });

  test('distinct people count; the starter and the unnamed do not when the rule forbids the starter', () => {
    const pending = [
      { by: 'alice' },
      { by: 'alice' },
      { by: 'sam' },
      {},
      { step: 3, by: 'bob' },
      { step: 1, by: 'carol' },
    ];
    expect(approversOf(pending, 1, twoNoStarter, 'sam')).toEqual(['alice', 'carol']);
    expect(approversOf(pending, 1, { approvers: 2, forbidStarter: false }, 'sam')).toEqual([
      'alice',
      'sam',
      '',
      'carol',
    ]);
  });

  test('the signal form from the starter is written down, not counted', () => {
    const c = new OperatorControls({ startedBy: 'sam' });
    // The rule and the step awaited are set by takeApproval, which needs Temporal: set as it would.
    (c as unknown as { awaiting: number; rule: unknown }).awaiting = 1;
    (c as unknown as { rule: unknown }).rule = twoNoStarter;
    expect(c.approve({ by: 'sam' }).text).toBe(
      'approve received from sam; not counted: sam started this run (forbidStarter)',
    );
    expect(c.hasApprovalFor(1, twoNoStarter)).toBe(false);
    expect(c.approve({ by: 'alice' }).text).toBe('approve received from alice (1 of 2)');
    expect(c.hasApprovalFor(1, twoNoStarter)).toBe(false);
    c.approve({ by: 'bob' });
    expect(c.hasApprovalFor(1, twoNoStarter)).toBe(true);
    expect(c.carry().startedBy).toBe('sam');
  });
});

describe("the Updates' validators refuse before anything changes", () => {
  const origin = Date.parse('2026-11-24T00:00:00Z');
  const cutover = () =>
    new CutoverRun(
      userCutoverInput.parse({ service: 'portal', directory: 'staff', router: 'gateway', metricSources: ['prom'] }),
      { originMs: origin, runKey: 'k' },
    );

  test('reschedule and skip: unknown batch, a batch already moving, a time in the past; an accepted one is then applied', () => {
    const run = cutover();
    const before = JSON.stringify(run.status);
    expect(rescheduleRefusal(run, { batch: 'nobody', startAt: '+2h' }, origin)).toMatch(
      /^reschedule refused: no batch named "nobody" \(batches: /,
    );
    expect(skipRefusal(run, { batch: 9 })).toBe('skip refused: no batch 9 (1–4)');
    expect(rescheduleRefusal(run, { batch: 1, startAt: '2026-11-23T00:00:00Z' }, origin)).toMatch(/is in the past$/);
    run.status.batches[0].state = 'monitoring';
    expect(skipRefusal(run, { batch: 1 })).toMatch(/^skip of batch 1\/4 ".*" refused: it is monitoring$/);
    run.status.batches[0].state = 'scheduled';
    expect(JSON.stringify(run.status)).toBe(before);
    expect(rescheduleRefusal(run, { batch: 2, startAt: '+5h' }, origin)).toBeUndefined();
    expect(reschedule(run, { batch: 2, startAt: '+5h', by: 'ann' }, origin)).toMatch(
      /rescheduled to 2026-11-24T05:00:00.000Z by ann$/,
    );
  });

  test('incident: already acknowledged by whom and when; resolved; an unknown runbook step', () => {
    let t = Date.parse('2026-03-04T05:00:00.000Z');
    const clock = () => new Date((t += 60_000)).toISOString();
    const s = IncidentState.open(
      incidentInput.parse({ title: 'down', type: 'service_down', services: ['x'], source: 'cli' }),
      'incident-x',
      new Date(t),
      clock,
    );
    expect(acknowledgeRefusal(s, { by: 'ann' })).toBeUndefined();
    s.acknowledge({ by: 'ann' });
    expect(acknowledgeRefusal(s, { by: 'bob' })).toMatch(
      /^incident .* is already acknowledged by ann at 2026-03-04T05:\d\d:00.000Z$/,
    );
    s.steps = [{ id: 'restart', kind: 'diagnostics', needsApproval: true } as never];
    expect(approveRefusal(s, { step: 'reboot' })).toBe('step: no step "reboot" in the runbook (steps: restart)');
    s.resolve({ by: 'bob' });
    expect(resolveRefusal(s, {})).toMatch(/already resolved by bob at /);
    expect(acknowledgeRefusal(s, {})).toMatch(/already resolved by bob at /);
  });
});

describe('the CLI checks an action before sending it', () => {
  test('a missing or malformed flag is a usage error naming it', () => {
    expect(() => actionInput('reschedule', 'userCutoverWorkflow', { batch: 'it' }, 'ann')).toThrow(
      new UsageError('--start-at: required for reschedule'),
    );
    expect(() => actionInput('sign-off', 'readinessCheckWorkflow', {}, 'ann')).toThrow(
      new UsageError('--item: required for sign-off'),
    );
    expect(() =>
      actionInput('waive', 'readinessCheckWorkflow', { item: ['db'], reason: 'known', until: 'tomorrow' }, 'ann'),
    ).toThrow(/^waive: until: /);
    expect(actionInput('skip', 'userCutoverWorkflow', { batch: '2' }, 'ann')).toEqual({ batch: 2, by: 'ann' });
    expect(actionInput('approve', 'incidentResponseWorkflow', { step: '2' }, 'ann')).toEqual({ by: 'ann', step: '2' });
    expect(actionInput('approve', 'phasedRolloutWorkflow', { step: '2' }, 'ann')).toEqual({ by: 'ann', step: 2 });
  });
});

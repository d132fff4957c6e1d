import { goLiveInput, stageOrder, stageWorkflowId } from '../../src/domain/go-live/input';
import { formatIssues } from '../../src/domain/validation';
import {
  childAbortInput,
  cutoverAchieved,
  cutoverStoppedStays,
  GoLiveRun,
  renderGoLiveReport,
} from '../../src/workflows/go-live/state';

const rollout = {
  service: 'shop',
  lb: 'edge',
  backends: { old: 'blue', new: 'green' },
  metricSources: ['p'],
  steps: [{ weight: 100, window: '1m' }],
};
const cutover = { service: 'shop', directory: 'staff', router: 'users', metricSources: ['p'] };
const issues = (raw: unknown) => {
  const r = goLiveInput.safeParse(raw);
  return r.success ? '' : formatIssues(r.error);
};

describe('go-live input and state', () => {
  test('readiness is required before a changing stage, stage inputs are checked with their own schema, naming the field', () => {
    expect(issues({ service: 'shop', stages: { phasedRollout: rollout } })).toContain(
      'stages.readiness: required: the readiness gate must pass before a migration, rollout or cutover changes anything',
    );
    expect(
      issues({
        service: 'shop',
        stages: { readiness: { checklist: 'c' }, phasedRollout: { ...rollout, service: 'cart' } },
      }),
    ).toContain('stages.phasedRollout.service: must be the go-live\'s service "shop"');
    expect(
      issues({
        service: 'shop',
        stages: {
          readiness: { checklist: 'c' },
          phasedRollout: { ...rollout, steps: [{ weight: 140, window: '1m' }] },
        },
      }),
    ).toMatch(/stages\.phasedRollout\.steps\.0\.weight/);
    expect(issues({ service: 'shop', stages: {} })).toContain('stages: at least one stage');
    expect(issues({ service: 'shop', stages: { readiness: { checklist: 'c' }, phasedRollout: rollout } })).toBe('');
  });

  test('the first failure stops the run: later stages are not run, and the message names the stage, the reason and what stays', () => {
    const run = new GoLiveRun('shop', [
      { stage: 'readiness', workflowId: 'readiness-shop' },
      { stage: 'dataMigration', workflowId: 'data-migration-m' },
      { stage: 'phasedRollout', workflowId: 'rollout-shop' },
    ]);
    run.started('readiness', 'r1');
    run.succeeded('readiness', 'READY');
    run.started('dataMigration', 'r2');
    run.succeeded('dataMigration', '10 rows copied', 'data migration m: 10 rows copied');
    run.failed('phasedRollout', 'step 1: errorRatePercent 40 > 5');
    expect(run.status.stages.map((s) => s.state)).toEqual(['succeeded', 'succeeded', 'failed']);
    expect(run.stopMessage()).toBe(
      'go-live of shop stopped at phasedRollout: step 1: errorRatePercent 40 > 5. Stays in place: data migration m: 10 rows copied',
    );
    expect(renderGoLiveReport(run.status)).toContain(
      'What stays in place (not undone): data migration m: 10 rows copied',
    );

    const early = new GoLiveRun('cart', [
      { stage: 'readiness', workflowId: 'readiness-cart' },
      { stage: 'phasedRollout', workflowId: 'rollout-cart' },
    ]);
    early.failed('readiness', 'NOT READY: tls');
    expect(early.status.stages.map((s) => s.state)).toEqual(['failed', 'not-run']);
    expect(early.stopMessage()).toBe(
      'go-live of cart stopped at readiness: NOT READY: tls. Nothing was changed by an earlier stage',
    );
  });

  test("userCutover is the last stage, parsed with the cutover's own schema (errors named stages.userCutover.<field>), id cutover-<service>", () => {
    expect(stageOrder.slice(-2)).toEqual(['phasedRollout', 'userCutover']);
    const ok = {
      service: 'shop',
      stages: { readiness: { checklist: 'c' }, phasedRollout: rollout, userCutover: cutover },
    };
    expect(issues(ok)).toBe('');
    const plan = goLiveInput.parse(ok);
    // The cutover's own defaults apply: runbooks §3's four batches.
    expect(plan.stages.userCutover!.batches.map((b) => b.name)).toEqual([
      'IT department',
      'managers',
      'Sales',
      'everyone else',
    ]);
    expect(stageWorkflowId(plan, 'userCutover')).toBe('cutover-shop');
    expect(issues({ service: 'shop', stages: { userCutover: cutover } })).toContain('stages.readiness: required');
    expect(issues({ ...ok, stages: { ...ok.stages, userCutover: { ...cutover, service: 'cart' } } })).toContain(
      'stages.userCutover.service: must be the go-live\'s service "shop"',
    );
    expect(issues({ ...ok, stages: { ...ok.stages, userCutover: { ...cutover, metricSources: [] } } })).toMatch(
      /stages\.userCutover\.metricSources/,
    );
    expect(
      issues({
        ...ok,
        stages: {
          ...ok.stages,
          userCutover: {
            ...cutover,
            batches: [
              {
                name: 'IT',
                cohort: { department: ['IT'] },
                startAt: '+1h',
                thresholds: { errorRatePercent: 10 },
                window: '10s',
              },
            ],
          },
        },
      }),
    ).toMatch(/stages\.userCutover\.batches\.0\.window: window 10s is shorter than sampleInterval/);
    expect(issues({ ...ok, stages: { ...ok.stages, userCutover: { ...cutover, bogus: 1 } } })).toMatch(
      /stages\.userCutover/,
    );
  });

  test('an abort passed on to the cutover restores every moved batch ({all: true}); other stages get the abort as sent', () => {
    expect(childAbortInput('userCutover', { by: 'ops', reason: 'stop' })).toEqual({
      by: 'ops',
      reason: 'stop',
      all: true,
    });
    expect(childAbortInput('phasedRollout', { by: 'ops' })).toEqual({ by: 'ops' });
    expect(childAbortInput('dataMigration', {})).toEqual({});
  });

  test('the report says what a cutover leaves in place: its moved users when it completed, the unrestored batches when it stopped', () => {
    const run = new GoLiveRun('shop', [
      { stage: 'readiness', workflowId: 'readiness-shop' },
      { stage: 'phasedRollout', workflowId: 'rollout-shop' },
      { stage: 'userCutover', workflowId: 'cutover-shop' },
    ]);
    run.succeeded('readiness', 'READY');
    run.succeeded('phasedRollout', '1 steps, drained');
    const done = cutoverAchieved({
      service: 'shop',
      batches: [
        { name: 'IT', state: 'moved', moved: 40 },
        { name: 'Sales', state: 'skipped' },
        { name: 'rest', state: 'moved', moved: 60 },
      ],
    });
    expect(done.outcome).toBe('100 users moved in 2 batches');
    run.succeeded('userCutover', done.outcome, done.stays);
    run.live();
    expect(renderGoLiveReport(run.status)).toContain(
      'What stays in place (not undone): user cutover of shop: 100 users on the new system (IT, rest)',
    );

    const stopped = new GoLiveRun('cart', [
      { stage: 'readiness', workflowId: 'readiness-cart' },
      { stage: 'userCutover', workflowId: 'cutover-cart' },
    ]);
    stopped.succeeded('readiness', 'READY');
    stopped.failed('userCutover', 'cutover of cart stopped at batch 2', cutoverStoppedStays('cutover-cart'));
    expect(stopped.stopMessage()).toContain(
      'stopped at userCutover: cutover of cart stopped at batch 2. Stays in place: user cutover: batches moved before the stop',
    );
    expect(stopped.stopMessage()).toContain("cutover-cart's status");
  });
});

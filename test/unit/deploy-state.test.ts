import { DeployRun } from '../../src/workflows/deploy/state';
import { OperatorControls } from '../../src/workflows/common/operator-controls';

const run = (budget = { batch: 0, fleet: 0 }) => {
  const r = new DeployRun({ kind: 'deploy', service: 'web', ref: 'main', budget });
  r.planned([['h1'], ['h2'], ['h3']], true);
  return r;
};

describe('deploy run state', () => {
  test('starts with every host pending and migrations pending; resolving names the commit and release', () => {
    const r = run();
    expect(r.status.hosts).toEqual({ h1: { state: 'pending' }, h2: { state: 'pending' }, h3: { state: 'pending' } });
    expect(r.status.migrations).toBe('pending');
    r.resolved('a'.repeat(40), 'rel');
    expect(r.status).toMatchObject({ phase: 'deploying', commit: 'a'.repeat(40), release: 'rel' });
  });

  test('a failed host over a 0 % budget stops the deploy with the reason; within budget it goes on', () => {
    const r = run();
    r.startBatch(0);
    expect(r.endBatch(0, ['h1'])).toEqual({
      stop: true,
      reason: '1 of 1 hosts failed in the batch (100 % > budget 0 %)',
    });
    expect(r.status.stopReason).toMatch(/1 of 1 hosts failed/);
    const lenient = run({ batch: 100, fleet: 40 });
    expect(lenient.endBatch(0, ['h1']).stop).toBe(false);
    expect(lenient.endBatch(1, ['h2'])).toMatchObject({
      stop: true,
      reason: expect.stringMatching(/2 of 3 hosts failed in the fleet/),
    });
  });

  test('the stop reason names each failed host so far with its step and the first line of its cause; a flap stops whatever the budget', () => {
    const r = run({ batch: 100, fleet: 100 });
    r.startBatch(0);
    r.host('h1', {
      state: 'rolled-back',
      step: 'migrate',
      error: 'web/h1: migrate (sh migrate.sh) exited 3: column "sku" already exists\nHINT: nothing',
    });
    expect(r.endBatch(0, ['h1']).stop).toBe(false);
    r.startBatch(1);
    r.host('h2', {
      state: 'rolled-back',
      step: 'health check',
      error:
        'h2: health check failed after 4 attempts: flapping (HTTP 200 at attempt 1, then HTTP 503 at attempt 2; 2 of 4 passed, 3 consecutive needed)',
    });
    expect(r.endBatch(1, ['h2'], ['h2'])).toEqual({
      stop: true,
      reason:
        'the release flapped on h2 (passed, then failed its health check): a flapping release stops the deploy whatever the budget: ' +
        'h1 (migrate): migrate (sh migrate.sh) exited 3: column "sku" already exists; ' +
        'h2 (health check): health check failed after 4 attempts: flapping (HTTP 200 at attempt 1, then HTTP 503 at attempt 2; 2 of 4 passed, 3 consecutive needed)',
    });
    expect(r.status.stopReason).toMatch(/^the release flapped on h2/);
  });

  test('upgraded hosts are those done on a release other than where they were', () => {
    const r = run();
    r.host('h1', { state: 'done', previous: 'old', release: 'new' });
    r.host('h2', { state: 'done', previous: 'new', release: 'new' });
    r.host('h3', { state: 'rolled-back', previous: 'old', release: 'old' });
    expect(r.upgraded()).toEqual(['h1']);
    expect(r.details()).toContain('- h1: done → new');
  });

  test('the carry across continue-as-new keeps hosts, commit, release, migrations, failures and the operator; the copy is not shared', () => {
    const r = run({ batch: 100, fleet: 50 });
    r.resolved('c'.repeat(40), '20261124040000-cccccccccccc');
    r.migrated();
    r.startBatch(0);
    r.host('h1', { state: 'done', previous: 'old', release: '20261124040000-cccccccccccc' });
    r.endBatch(0, []);
    r.startBatch(1);
    r.host('h2', { state: 'rolled-back', previous: 'old', release: 'old', error: 'health check failed' });
    r.endBatch(1, ['h2']);
    const ops = new OperatorControls();
    ops.pause({ by: 'ann' });
    ops.approve({ step: 3 });
    const carried = JSON.parse(JSON.stringify(r.carry(2, ops.carry())));
    const next = DeployRun.resume(carried);
    expect(next.status).toMatchObject({
      commit: 'c'.repeat(40),
      release: '20261124040000-cccccccccccc',
      migrations: 'ran',
      batch: 2,
      batches: [['h1'], ['h2'], ['h3']],
      failures: { fleet: 1, budget: { batch: 100, fleet: 50 } },
      hosts: {
        h1: { state: 'done', previous: 'old' },
        h2: { state: 'rolled-back', error: 'health check failed' },
        h3: { state: 'pending' },
      },
    });
    expect(next.upgraded()).toEqual(['h1']);
    expect(next.status.log.at(-1)).toBe('continued as new before batch 3/3');
    expect(carried.nextBatch).toBe(2);
    const controls = new OperatorControls(carried.operator);
    expect(controls.paused).toBe(true);
    expect(controls.hasApprovalFor(3)).toBe(true);
    // The budget goes on counting from the carried failures: one more failed host is 2 of 3 > 50 %.
    expect(next.endBatch(2, ['h3'])).toMatchObject({
      stop: true,
      reason: expect.stringMatching(/2 of 3 hosts failed in the fleet/),
    });
    expect(r.status.failures.fleet).toBe(1);
  });

  test('runs count the hand-overs (also from a carry made before the counter); a rollback carries its targets as a copy', () => {
    const r = new DeployRun({ kind: 'rollback', service: 'web', budget: { batch: 0, fleet: 0 } });
    r.planned([['h1'], ['h2']], false);
    expect(r.status.runs).toBe(1);
    const targets = { h1: 'r1', h2: 'r2' };
    const carried = r.carry(1, new OperatorControls().carry(), targets);
    targets.h1 = 'changed';
    expect(carried.targets).toEqual({ h1: 'r1', h2: 'r2' });
    const second = DeployRun.resume(carried);
    expect(second.status.runs).toBe(2);
    expect(DeployRun.resume(second.carry(2, new OperatorControls().carry())).status.runs).toBe(3);
    expect(second.details()).toMatch(/\(run 2\)/);
    const { runs: _, ...before } = r.carry(1, new OperatorControls().carry()).status;
    expect(
      DeployRun.resume({ status: before as never, nextBatch: 1, operator: new OperatorControls().carry() }).status.runs,
    ).toBe(2);
  });

  test('a fleet rollback fixes its targets when the deploy stops and carries the reason and the hosts already back; a carry without one resumes batches', () => {
    const r = run();
    r.host('h1', { state: 'done', previous: 'old1', release: 'new' });
    r.host('h2', { state: 'done', previous: 'old2', release: 'new' });
    r.host('h3', { state: 'rolled-back', previous: 'old3', release: 'old3' });
    expect(r.fleetRollbackReason).toBeUndefined();
    expect(r.fleetRollbackLeft()).toEqual([]);
    r.startFleetRollback('1 of 1 hosts failed in the batch');
    expect(r.status.phase).toBe('rolling-back-fleet');
    expect(r.fleetRollbackLeft()).toEqual([
      { host: 'h1', release: 'old1' },
      { host: 'h2', release: 'old2' },
    ]);
    // h1's rollback saga rewrites its previous/release: the targets stay those taken at the stop.
    r.host('h1', { state: 'done', previous: 'new', release: 'old1' });
    r.fleetHostBack('h1');
    r.fleetHostBack('h1');
    const carried = JSON.parse(JSON.stringify(r.carry(3, new OperatorControls().carry())));
    expect(carried.fleetRollback).toEqual({
      reason: '1 of 1 hosts failed in the batch',
      targets: [
        { host: 'h1', release: 'old1' },
        { host: 'h2', release: 'old2' },
      ],
      done: ['h1'],
    });
    const next = DeployRun.resume(carried);
    expect(next.fleetRollbackReason).toBe('1 of 1 hosts failed in the batch');
    expect(next.status.log.at(-1)).toBe('continued as new during the fleet rollback (1/2 hosts back)');
    // Started again in the continued run: kept as carried, not taken again from the hosts.
    next.startFleetRollback('another reason');
    expect(next.fleetRollbackReason).toBe('1 of 1 hosts failed in the batch');
    expect(next.fleetRollbackLeft()).toEqual([{ host: 'h2', release: 'old2' }]);
    next.fleetHostBack('h2');
    expect(next.fleetRollbackLeft()).toEqual([]);
    expect(r.fleetRollbackLeft()).toEqual([{ host: 'h2', release: 'old2' }]);
    // A carry made before fleet rollbacks were carried (or between batches) has none.
    const old = {
      status: run().carry(1, new OperatorControls().carry()).status,
      nextBatch: 1,
      operator: new OperatorControls().carry(),
    };
    const resumed = DeployRun.resume(old);
    expect(resumed.fleetRollbackReason).toBeUndefined();
    expect(resumed.status.log.at(-1)).toBe('continued as new before batch 2/3');
    expect(resumed.carry(1, new OperatorControls().carry())).not.toHaveProperty('fleetRollback');
  });
});

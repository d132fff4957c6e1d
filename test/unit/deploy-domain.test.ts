import { deployInput, rollbackDeployInput } from '../../src/domain/deploy/input';
import { deployInputNames } from '../../src/config/input-names';
import { batchSize, planBatches, judgeBatch } from '../../src/domain/deploy/plan';
import {
  releaseName,
  parseReleaseName,
  releaseState,
  releasesToPrune,
  rollbackTarget,
  type ReleaseEntry,
} from '../../src/domain/deploy/release';
import { healthPolicyProblem, judgeHealth } from '../../src/domain/deploy/health';
import { CAUSE_MAX, failedHostsText, firstLine } from '../../src/domain/deploy/failed-hosts';
import { formatIssues } from '../../src/domain/validation';
import { parseConfigText } from '../../src/config/load';

const issues = (raw: unknown) => {
  const r = deployInput.safeParse(raw);
  return r.success ? '' : formatIssues(r.error);
};
const C = (n: number) => String(n).repeat(40).slice(0, 40);
const rel = (t: number, state: ReleaseEntry['state'], c = 'a'): ReleaseEntry => ({
  name: `2026112403${String(t).padStart(4, '0')}-${c.repeat(40)}`,
  state,
});

describe('deployInput', () => {
  test('defaults: serial 1, budget 0 % per batch and fleet, health check 5 × 10 s (runbooks §7), keep 5 releases, no approval', () => {
    const i = deployInput.parse({ service: 'web', ref: 'main' });
    expect(i).toMatchObject({
      serial: 1,
      maxFailPercent: { batch: 0, fleet: 0 },
      healthCheck: { attempts: 5, interval: 10_000 },
      keepReleases: 5,
      approval: 'none',
      rollbackFleetOnFailure: false,
    });
    expect(deployInput.parse(i)).toEqual(i);
  });

  test('serial 0, "0%" and nonsense are refused naming serial', () => {
    expect(issues({ service: 'web', ref: 'main', serial: 0 })).toMatch(/^serial: at least 1 host/);
    expect(issues({ service: 'web', ref: 'main', serial: '0%' })).toMatch(/^serial: a percentage above 0 %/);
    expect(issues({ service: 'web', ref: 'main', serial: 'half' })).toMatch(/^serial: /);
    expect(issues({ service: 'web', ref: 'main', serial: '30%' })).toBe('');
  });

  test('a number for maxFailPercent is both budgets; out of range is named', () => {
    expect(deployInput.parse({ service: 'web', ref: 'main', maxFailPercent: 20 }).maxFailPercent).toEqual({
      batch: 20,
      fleet: 20,
    });
    expect(issues({ service: 'web', ref: 'main', maxFailPercent: { batch: 120 } })).toMatch(/^maxFailPercent\.batch: /);
  });

  test('refs that could become git options or are not refs are refused naming ref', () => {
    for (const ref of ['-x', '--upload-pack=evil', 'a..b', 'x y', ''])
      expect(issues({ service: 'web', ref })).toMatch(/^ref: /);
    for (const ref of ['main', 'v1.2.3', 'release/2026-11', C(1)]) expect(issues({ service: 'web', ref })).toBe('');
  });

  test('other bad fields are named', () => {
    expect(issues({ service: 'web', ref: 'main', keepReleases: 0 })).toMatch(/^keepReleases: /);
    expect(issues({ service: 'web', ref: 'main', healthCheck: { interval: '1ms' } })).toMatch(
      /^healthCheck\.interval: /,
    );
    expect(issues({ service: 'web', ref: 'main', hosts: ['a', 'a'] })).toMatch(/^hosts: a host is named twice/);
    expect(issues({ service: 'web', ref: 'main', approval: 'always' })).toMatch(/^approval: /);
    expect(issues({ service: 'web', ref: 'main', surprise: 1 })).toMatch(/surprise/);
  });

  test('approvalRule: N distinct approvers and forbidStarter for the batch and stuck-drain approvals; bad values are named', () => {
    const base = { service: 'web', ref: 'main', approval: 'each-batch' };
    expect(deployInput.parse({ ...base, approvalRule: { approvers: 2, forbidStarter: true } }).approvalRule).toEqual({
      approvers: 2,
      forbidStarter: true,
    });
    expect(deployInput.parse({ ...base, approvalRule: { approvers: 3 } }).approvalRule).toEqual({
      approvers: 3,
      forbidStarter: false,
    });
    expect(deployInput.parse(base).approvalRule).toBeUndefined();
    expect(issues({ ...base, approvalRule: { approvers: 0 } })).toMatch(/^approvalRule\.approvers: /);
    expect(issues({ ...base, approvalRule: { approvers: 1.5 } })).toMatch(/^approvalRule\.approvers: /);
    expect(issues({ ...base, approvalRule: { forbidStarter: 'yes' } })).toMatch(/^approvalRule\.forbidStarter: /);
    expect(issues({ ...base, approvalRule: { approvers: 2, quorum: 1 } })).toMatch(/quorum/);
    expect(issues({ ...base, approvalRule: true })).toMatch(/^approvalRule: /);
    // Without batch approvals the rule still rules a stuck drain's approval.
    expect(deployInput.parse({ service: 'web', ref: 'main', approvalRule: { approvers: 2 } }).approvalRule).toEqual({
      approvers: 2,
      forbidStarter: false,
    });
    expect(
      rollbackDeployInput.safeParse({ service: 'web', approval: 'first-host', approvalRule: { approvers: 2 } }).success,
    ).toBe(true);
    expect(rollbackDeployInput.safeParse({ service: 'web', approvalRule: { approvers: 2 } }).success).toBe(true);
  });

  test('rollback input takes a release name, not a ref', () => {
    expect(rollbackDeployInput.parse({ service: 'web' }).release).toBeUndefined();
    expect(rollbackDeployInput.safeParse({ service: 'web', release: 'main' }).success).toBe(false);
    expect(rollbackDeployInput.parse({ service: 'web', release: `20261124033400-${C(1)}` }).release).toBe(
      `20261124033400-${C(1)}`,
    );
  });
});

describe('batches and the failure budget', () => {
  test('serial as a count or a share of the fleet, never below 1 nor above the fleet', () => {
    expect(batchSize(1, 3)).toBe(1);
    expect(batchSize(5, 3)).toBe(3);
    expect(batchSize('30%', 10)).toBe(3);
    expect(batchSize('10%', 3)).toBe(1);
    expect(batchSize('100%', 3)).toBe(3);
    expect(planBatches(['a', 'b', 'c', 'd', 'e'], 2)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(planBatches(['a', 'b', 'c'], 1)).toEqual([['a'], ['b'], ['c']]);
  });

  test('a budget of 0 % stops on the first failure; failures within budget go on; the fleet budget counts all batches', () => {
    expect(judgeBatch({ failed: 0, size: 1 }, { failed: 0, size: 3 }, { batch: 0, fleet: 0 }).stop).toBe(false);
    const v = judgeBatch({ failed: 1, size: 1 }, { failed: 1, size: 3 }, { batch: 0, fleet: 0 });
    expect(v).toEqual({ stop: true, reason: '1 of 1 hosts failed in the batch (100 % > budget 0 %)' });
    expect(judgeBatch({ failed: 1, size: 4 }, { failed: 1, size: 8 }, { batch: 25, fleet: 25 }).stop).toBe(false);
    expect(judgeBatch({ failed: 1, size: 4 }, { failed: 3, size: 8 }, { batch: 25, fleet: 25 })).toMatchObject({
      stop: true,
      reason: expect.stringMatching(/in the fleet \(37.5 %/),
    });
  });
});

describe('releases', () => {
  test('the name is <UTC time>-<full commit>, and reads back', () => {
    const name = releaseName(new Date('2026-11-24T03:34:00.123Z'), C(7));
    expect(name).toBe(`20261124033400-${C(7)}`);
    expect(parseReleaseName(name)).toEqual({ time: '20261124033400', commit: C(7) });
    expect(parseReleaseName('.building-' + name)).toBeUndefined();
    expect(() => releaseName(new Date(), 'main')).toThrow(/not a full commit id/);
  });

  test('failed wins over complete; no marker is incomplete', () => {
    expect(releaseState({ complete: true, failed: true })).toBe('failed');
    expect(releaseState({ complete: true, failed: false })).toBe('complete');
    expect(releaseState({ complete: false, failed: false })).toBe('incomplete');
  });

  test('rollback goes to the newest complete release before current, never a failed or unfinished one', () => {
    const rs = [rel(1, 'complete'), rel(2, 'failed'), rel(3, 'incomplete'), rel(4, 'complete')];
    expect(rollbackTarget(rs, rs[3].name)).toEqual({ ok: true, release: rs[0].name });
    expect(rollbackTarget(rs, rs[0].name)).toMatchObject({ ok: false });
    expect(rollbackTarget(rs, rs[3].name, rs[1].name)).toEqual({
      ok: false,
      reason: `release ${rs[1].name} is failed, not complete`,
    });
    expect(rollbackTarget(rs, rs[3].name, rs[0].name)).toEqual({ ok: true, release: rs[0].name });
  });

  test('prune keeps the newest N complete, current and the previous complete; failed ones are not counted and go first; unmarked ones stay while newer than the oldest kept', () => {
    const rs = [
      rel(1, 'complete'),
      rel(2, 'complete'),
      rel(3, 'complete'),
      rel(4, 'failed'),
      rel(5, 'complete'),
      rel(6, 'failed'),
    ];
    // keep 2: releases 3 and 5 are the newest complete; the failed 4 and 6 go whatever their age.
    expect(releasesToPrune(rs, rs[4].name, 2)).toEqual([rs[0].name, rs[1].name, rs[3].name, rs[5].name]);
    // keep 1 with current 5: 3 is still the rollback target and stays.
    expect(releasesToPrune(rs, rs[4].name, 1)).toEqual([rs[0].name, rs[1].name, rs[3].name, rs[5].name]);
    // keep 3 with five complete releases: the newest three stay, not only current and its predecessor.
    const five = [1, 2, 3, 4, 5].map((t) => rel(t, 'complete'));
    expect(releasesToPrune(five, five[4].name, 3)).toEqual([five[0].name, five[1].name]);
    // A failed release never pushes a good one out: six failures after one good release delete nothing good.
    const many = [rel(1, 'complete'), ...[2, 3, 4, 5, 6, 7].map((t) => rel(t, 'failed'))];
    expect(releasesToPrune(many, many[0].name, 1)).toEqual(many.slice(1).map((r) => r.name));
    // A failed release that is current (its compensation failed) stays.
    expect(releasesToPrune(many, many[6].name, 1)).toEqual(many.slice(1, 6).map((r) => r.name));
    // Unmarked (a killed build): kept while newer than the oldest kept complete one, gone when older.
    const unmarked = [rel(1, 'incomplete'), rel(2, 'complete'), rel(3, 'incomplete'), rel(4, 'complete')];
    expect(releasesToPrune(unmarked, unmarked[3].name, 2)).toEqual([unmarked[0].name]);
    // The release being deployed (not yet complete) is protected.
    expect(
      releasesToPrune([rel(1, 'complete'), rel(2, 'incomplete')], rel(1, 'complete').name, 1, [
        rel(2, 'incomplete').name,
      ]),
    ).toEqual([]);
  });
});

describe('health: healthy after N consecutive passes within the attempt budget', () => {
  const ok = { pass: true, what: 'HTTP 200' };
  const no = { pass: false, what: 'HTTP 503' };
  const down = { pass: false, what: 'connect ECONNREFUSED 127.0.0.1:1' };
  const policy = { attempts: 5, passes: 3 };

  test('a host starting up: failures, then three passes in a row', () => {
    expect(judgeHealth([down, ok, ok], policy)).toEqual({ verdict: 'continue' });
    expect(judgeHealth([down, ok, ok, ok], policy)).toEqual({ verdict: 'healthy' });
  });

  test('a release answering 503 on every other request is unhealthy, named as flapping, as soon as the budget cannot give three in a row', () => {
    expect(judgeHealth([ok], policy)).toEqual({ verdict: 'continue' });
    expect(judgeHealth([ok, no], policy)).toEqual({ verdict: 'continue' });
    expect(judgeHealth([ok, no, ok, no], policy)).toEqual({
      verdict: 'unhealthy',
      flapping: true,
      reason:
        'health check failed after 4 attempts: flapping (HTTP 200 at attempt 1, then HTTP 503 at attempt 2; 2 of 4 passed, 3 consecutive needed)',
    });
  });

  test('never a pass: unhealthy after the budget, not flapping, with the last answer', () => {
    expect(judgeHealth([down, down], policy)).toEqual({ verdict: 'continue' });
    expect(judgeHealth([down, down, no], policy)).toEqual({
      verdict: 'unhealthy',
      flapping: false,
      reason: 'health check failed after 3 attempts (HTTP 503)',
    });
    expect(judgeHealth([no, no, no, no, no], { attempts: 5, passes: 1 })).toMatchObject({
      verdict: 'unhealthy',
      reason: 'health check failed after 5 attempts (HTTP 503)',
    });
  });

  test('one pass is enough when the service says so; a budget below the passes is refused', () => {
    expect(judgeHealth([down, ok], { attempts: 5, passes: 1 })).toEqual({ verdict: 'healthy' });
    expect(healthPolicyProblem({ attempts: 2, passes: 3 })).toBe(
      '2 attempts can never give the 3 consecutive passes a healthy host needs',
    );
    expect(healthPolicyProblem({ attempts: 3, passes: 3 })).toBeUndefined();
  });
});

describe('failed hosts in the failure message', () => {
  test('host, step and the first line of the cause, bounded; the host said once', () => {
    const text = failedHostsText('shop', [
      {
        host: 'web1',
        step: 'migrate',
        error:
          'shop/web1: migrate (sh migrate.sh) exited 3: migration 0004_add_column failed: column "sku" already exists\nCONTEXT: line 2\n',
      },
      { host: 'web2', step: 'health check', error: 'web2: health check failed after 5 attempts (HTTP 503)' },
    ]);
    expect(text).toBe(
      'web1 (migrate): migrate (sh migrate.sh) exited 3: migration 0004_add_column failed: column "sku" already exists; web2 (health check): health check failed after 5 attempts (HTTP 503)',
    );
    expect(firstLine('x'.repeat(1000))).toHaveLength(CAUSE_MAX);
    const many = Array.from({ length: 8 }, (_, i) => ({ host: `h${i}`, error: 'boom' }));
    expect(failedHostsText('shop', many)).toBe(
      'h0: boom; h1: boom; h2: boom; h3: boom; h4: boom; and 3 more (see status)',
    );
  });
});

describe('config deploy.services', () => {
  const cfg = (deploy: unknown, extra: Record<string, unknown> = {}) =>
    parseConfigText(JSON.stringify({ deploy, ...extra }), 'c.json');
  const svc = {
    repository: '/srv/git/web.git',
    path: '/srv/web',
    hosts: { h1: { healthUrl: 'http://127.0.0.1:8001/health' } },
  };

  test('a service with defaults: local transport, no commands', () => {
    const c = cfg({ services: { web: svc } });
    expect(c.deploy.services.web.hosts.h1.transport).toBe('local');
    expect(c.deploy.services.web.commands).toEqual({});
    expect(c.deploy.services.web.healthPasses).toBe(3);
  });

  test('healthPasses is per service; 0 is refused naming the field', () => {
    expect(cfg({ services: { web: { ...svc, healthPasses: 1 } } }).deploy.services.web.healthPasses).toBe(1);
    expect(() => cfg({ services: { web: { ...svc, healthPasses: 0 } } })).toThrow(
      /deploy\.services\.web\.healthPasses: at least 1 pass/,
    );
  });

  test('commands are argv with a timeout; an empty program is named', () => {
    const c = cfg({ services: { web: { ...svc, commands: { install: { argv: ['npm', 'ci'], timeout: '5m' } } } } });
    expect(c.deploy.services.web.commands.install).toEqual({ argv: ['npm', 'ci'], timeout: 300_000 });
    expect(() => cfg({ services: { web: { ...svc, commands: { migrate: { argv: [] } } } } })).toThrow(
      /deploy\.services\.web\.commands\.migrate\.argv/,
    );
  });

  test("unknown SSH host and a non-HAProxy lb are named; an lb needs each host's server", () => {
    expect(() =>
      cfg({ services: { web: { ...svc, hosts: { h1: { ...svc.hosts.h1, transport: { ssh: 'nowhere' } } } } } }),
    ).toThrow(/deploy\.services\.web\.hosts\.h1\.transport\.ssh: unknown SSH host "nowhere"/);
    expect(() => cfg({ services: { web: { ...svc, lb: 'edge' } } })).toThrow(
      /deploy\.services\.web\.hosts\.h1\.lbServer/,
    );
    expect(() =>
      cfg(
        { services: { web: { ...svc, lb: 'edge', hosts: { h1: { ...svc.hosts.h1, lbServer: 'h1' } } } } },
        { loadBalancers: { edge: { type: 'nginx', upstreamFile: '/x', servers: { h1: '127.0.0.1:1' } } } },
      ),
    ).toThrow(/deploy\.services\.web\.lb: load balancer "edge" is nginx/);
  });

  test('input names: unknown service and host are named', () => {
    const c = cfg({ services: { web: svc } });
    expect(deployInputNames({ service: 'api', notify: [] }, c).map((u) => u.field)).toEqual(['service']);
    expect(deployInputNames({ service: 'web', hosts: ['h1', 'h9'], notify: [] }, c)).toMatchObject([
      { field: 'hosts.1', name: 'h9' },
    ]);
  });
});

describe('CLI registry', () => {
  test('deploy and rollback-deploy share the lock id deploy-<service> and check names against the config', () => {
    const { findWorkflow } = require('../../src/client/registry') as typeof import('../../src/client/registry');
    const deploy = findWorkflow('deploy')!;
    const rollback = findWorkflow('rollback-deploy')!;
    expect(deploy.type).toBe('deployWorkflow');
    expect(rollback.type).toBe('rollbackDeployWorkflow');
    const input = deploy.input.parse({ service: 'web', ref: 'main' });
    expect(deploy.workflowId(input, new Date())).toBe('deploy-web');
    expect(rollback.workflowId(rollback.input.parse({ service: 'web' }), new Date())).toBe('deploy-web');
    expect(deploy.summary(input)).toBe('Deploy main to every host of web (web), serial 1');
  });
});

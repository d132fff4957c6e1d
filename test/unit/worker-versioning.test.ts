import * as workflows from '../../src/workflows';
import { definitionOptions, versioningBehaviors } from '../../src/workflows/versioning';
import { workerDeploymentSettings, packageVersion } from '../../src/client/worker-deployment';
import { formatDeploymentStatus } from '../../src/client/commands/workers';

describe('versioning behaviour per workflow', () => {
  const exported = Object.entries(workflows).filter(([, v]) => typeof v === 'function') as [
    string,
    { workflowDefinitionOptions?: unknown },
  ][];
  const version = { deploymentName: 'opsflow', buildId: '1.0.0' };

  test('every registered workflow has a behaviour and a reason, and asks for it when its run is loaded', () => {
    expect(exported.length).toBeGreaterThan(10);
    expect(Object.keys(versioningBehaviors).sort()).toEqual(exported.map(([n]) => n).sort());
    for (const [name, fn] of exported) {
      expect([name, typeof fn.workflowDefinitionOptions]).toEqual([name, 'function']);
      expect(versioningBehaviors[name].why.length).toBeGreaterThan(10);
      expect(definitionOptions(name, version)).toEqual({ versioningBehavior: versioningBehaviors[name].behavior });
    }
  });

  test('on an unversioned worker a run names no behaviour (the server would refuse its workflow tasks)', () => {
    for (const [name] of exported) {
      expect(definitionOptions(name, undefined)).toEqual({});
      expect(definitionOptions(name, { deploymentName: '', buildId: 'bundle-checksum' })).toEqual({});
    }
    expect(() => definitionOptions('madeUpWorkflow', version)).toThrow(/madeUpWorkflow has no versioning behaviour/);
  });

  test('short runs are pinned, long ones auto-upgrade', () => {
    for (const short of ['healthCheckWorkflow', 'diagnosticsWorkflow', 'dailyReportWorkflow', 'backupWorkflow'])
      expect(versioningBehaviors[short].behavior).toBe('PINNED');
    for (const long of [
      'phasedRolloutWorkflow',
      'userCutoverWorkflow',
      'dataMigrationWorkflow',
      'deployWorkflow',
      'incidentResponseWorkflow',
      'goLiveWorkflow',
      'performanceBaselineWorkflow',
    ])
      expect(versioningBehaviors[long].behavior).toBe('AUTO_UPGRADE');
  });
});

describe('worker deployment settings', () => {
  test('unset: an unversioned worker', () => {
    expect(workerDeploymentSettings({})).toBeUndefined();
    expect(workerDeploymentSettings({ OPSFLOW_WORKER_DEPLOYMENT: ' ' })).toBeUndefined();
  });

  test('the build id defaults to the package version', () => {
    expect(workerDeploymentSettings({ OPSFLOW_WORKER_DEPLOYMENT: 'opsflow' })).toEqual({
      deploymentName: 'opsflow',
      buildId: packageVersion(),
    });
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(
      workerDeploymentSettings({ OPSFLOW_WORKER_DEPLOYMENT: 'opsflow', OPSFLOW_BUILD_ID: '1.4.0+abc123' }),
    ).toEqual({ deploymentName: 'opsflow', buildId: '1.4.0+abc123' });
  });

  test('bad names are refused naming the variable', () => {
    expect(() => workerDeploymentSettings({ OPSFLOW_WORKER_DEPLOYMENT: 'ops.flow' })).toThrow(
      /OPSFLOW_WORKER_DEPLOYMENT "ops.flow" must be/,
    );
    expect(() => workerDeploymentSettings({ OPSFLOW_WORKER_DEPLOYMENT: 'opsflow', OPSFLOW_BUILD_ID: 'a b' })).toThrow(
      /OPSFLOW_BUILD_ID "a b" must be/,
    );
  });

  test('status text says which versions may be stopped', () => {
    const text = formatDeploymentStatus({
      deploymentName: 'opsflow',
      current: '1.1.0',
      ramping: { buildId: '1.2.0', percent: 10 },
      versions: [
        { buildId: '1.0.0', status: 'drained', drainage: 'drained', createdAt: '2026-01-01T00:00:00.000Z' },
        { buildId: '1.1.0', status: 'current', createdAt: '2026-02-01T00:00:00.000Z' },
        { buildId: '1.0.5', status: 'draining', drainage: 'draining', createdAt: '2026-01-15T00:00:00.000Z' },
        { buildId: '1.2.0', status: 'ramping', createdAt: '2026-03-01T00:00:00.000Z' },
      ],
    });
    expect(text.split('\n')).toEqual([
      'deployment opsflow: current 1.1.0, ramping 1.2.0 at 10%',
      '  1.2.0     ramping   takes its share of new runs and auto-upgrading runs',
      '  1.1.0     current   new runs and auto-upgrading runs go here',
      '  1.0.5     draining  pinned runs still open on it: keep its workers',
      '  1.0.0     drained   no open run needs it: its workers may be stopped',
    ]);
  });
});

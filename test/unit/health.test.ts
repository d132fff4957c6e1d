import {
  buildReport,
  describeFailures,
  rateLevel,
  worstStatus,
  resourceThresholds,
  type CheckResult,
} from '../../src/domain/health/report';
import { healthCheckInput } from '../../src/domain/health/input';
import { notificationKey } from '../../src/domain/notification';

const check = (target: string, status: CheckResult['status']): CheckResult => ({
  kind: 'http',
  target,
  status,
  message: status,
});

describe('health domain', () => {
  test('rateLevel: strictly above the line counts (runbook: "> 85")', () => {
    const l = { warning: 80, critical: 85 };
    expect(rateLevel(80, l)).toBe('healthy');
    expect(rateLevel(80.1, l)).toBe('warning');
    expect(rateLevel(85, l)).toBe('warning');
    expect(rateLevel(85.1, l)).toBe('critical');
  });

  test('worstStatus orders healthy < warning < critical < down', () => {
    expect(worstStatus([])).toBe('healthy');
    expect(worstStatus(['warning', 'healthy'])).toBe('warning');
    expect(worstStatus(['critical', 'down', 'warning'])).toBe('down');
  });

  test('buildReport: "N/M healthy", failing = down or critical, warnings do not alert', () => {
    const r = buildReport([check('a', 'healthy'), check('b', 'warning'), check('c', 'critical'), check('d', 'down')]);
    expect(r.summary).toBe('1/4 healthy');
    expect(r.overall).toBe('down');
    expect(r.failing.map((c) => c.target)).toEqual(['c', 'd']);
    expect(describeFailures(r).split('\n')).toEqual(['DOWN http d: down', 'CRITICAL http c: critical']);
  });

  test("default thresholds are the runbooks' numbers", () => {
    expect(resourceThresholds.parse({})).toEqual({
      cpuPercent: { warning: 80, critical: 85 },
      memoryPercent: { warning: 85, critical: 90 },
      diskPercent: { warning: 80, critical: 85 },
    });
    expect(resourceThresholds.safeParse({ cpuPercent: { warning: 90, critical: 80 } }).success).toBe(false);
  });

  test('input schema names the bad field', () => {
    const r = healthCheckInput.safeParse({ targets: { systemd: ['nginx; rm -rf /'] }, extra: 1 });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toContain('targets.systemd.0');
    expect(paths).toContain('');
  });

  test('notification keys are stable per run, event and notifier', () => {
    expect(notificationKey('wf', 'run', 'unhealthy', 'ops')).toBe('wf/run/unhealthy/ops');
    expect(notificationKey('wf', 'run', 'unhealthy', 'ops')).not.toBe(
      notificationKey('wf', 'run2', 'unhealthy', 'ops'),
    );
  });
});

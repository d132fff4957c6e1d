import { z } from 'zod';
import { nonNegative } from '../fields';

/** How bad one check's reading is. Ordered: a report is as bad as its worst check. */
const healthStatuses = ['healthy', 'warning', 'critical', 'down'] as const;
export type HealthStatus = (typeof healthStatuses)[number];

export interface CheckResult {
  kind: 'systemd' | 'cpu' | 'memory' | 'disk' | 'http' | 'postgres' | 'redis' | 'tcp' | 'backup';
  target: string;
  status: HealthStatus;
  /** The measured value (percent, milliseconds, client count), when there is one. */
  value?: number;
  unit?: string;
  message: string;
}

const level = z
  .object({ warning: nonNegative.max(100), critical: nonNegative.max(100) })
  .strict()
  .refine((l) => l.warning <= l.critical, { message: 'warning must not be above critical' });

/** runbooks §4: CPU > 85, memory > 90, disk > 85 alert; 004's checker warns at 80 and is critical at 90. */
export const resourceThresholds = z
  .object({
    cpuPercent: level.default({ warning: 80, critical: 85 }),
    memoryPercent: level.default({ warning: 85, critical: 90 }),
    diskPercent: level.default({ warning: 80, critical: 85 }),
  })
  .strict();
export type ResourceThresholds = z.infer<typeof resourceThresholds>;

export function rateLevel(value: number, l: { warning: number; critical: number }): HealthStatus {
  if (value > l.critical) return 'critical';
  if (value > l.warning) return 'warning';
  return 'healthy';
}

export function worstStatus(statuses: HealthStatus[]): HealthStatus {
  return statuses.reduce<HealthStatus>(
    (worst, s) => (healthStatuses.indexOf(s) > healthStatuses.indexOf(worst) ? s : worst),
    'healthy',
  );
}

export interface HealthReport {
  overall: HealthStatus;
  healthy: number;
  total: number;
  /** "N/M healthy", as 004's checker prints it. */
  summary: string;
  checks: CheckResult[];
  failing: CheckResult[];
}

export function buildReport(checks: CheckResult[]): HealthReport {
  const healthy = checks.filter((c) => c.status === 'healthy').length;
  const failing = checks.filter((c) => c.status === 'down' || c.status === 'critical');
  return {
    overall: worstStatus(checks.map((c) => c.status)),
    healthy,
    total: checks.length,
    summary: `${healthy}/${checks.length} healthy`,
    checks,
    failing,
  };
}

/** The alert text of a report: one line per failing check, worst first. */
export function describeFailures(report: HealthReport): string {
  const rank = (c: CheckResult) => -healthStatuses.indexOf(c.status);
  return [...report.failing]
    .sort((a, b) => rank(a) - rank(b))
    .map((c) => `${c.status.toUpperCase()} ${c.kind} ${c.target}: ${c.message}`)
    .join('\n');
}

import type { CheckResult } from '../health/report';
import { COPY_STAMP } from './manifest';

/** When a copy was taken, from its folder name (`20261124T023000Z`). */
export function copyTime(name: string): number {
  if (!COPY_STAMP.test(name)) return NaN;
  return Date.parse(`${name.slice(0, 4)}-${name.slice(4, 6)}-${name.slice(6, 8)}T${name.slice(9, 11)}:${name.slice(11, 13)}:${name.slice(13, 15)}Z`);
}

/**
 * The health check's reading of a backup set: how old its newest verified copy is (warning past
 * 26 h, critical past 50 h by default). No verified copy at all is critical: a backup nobody
 * restored is not one.
 */
export function rateBackupAge(set: string, newestVerified: string | undefined, nowMs: number, limits: { warning: number; critical: number }): CheckResult {
  if (!newestVerified) return { kind: 'backup', target: set, status: 'critical', message: `no verified backup of set ${set}` };
  const hours = Math.round(((nowMs - copyTime(newestVerified)) / 3_600_000) * 10) / 10;
  const status = hours > limits.critical ? 'critical' : hours > limits.warning ? 'warning' : 'healthy';
  return { kind: 'backup', target: set, status, value: hours, unit: 'h', message: `latest verified backup ${newestVerified} is ${hours} h old (warning past ${limits.warning} h, critical past ${limits.critical} h)` };
}

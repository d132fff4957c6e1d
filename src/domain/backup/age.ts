import type { CheckResult } from '../health/report';
import { COPY_STAMP } from './manifest';

/**
 * When a copy was taken, from its folder name (`20261124T023000Z`, UTC): the start of the run that
 * wrote it. This is a copy's age for every reader (retention, the health check, readiness, the
 * daily report); file times are not used, since touching or copying files would make a copy young.
 */
export function copyTime(name: string): number {
  if (!COPY_STAMP.test(name)) return NaN;
  return Date.parse(
    `${name.slice(0, 4)}-${name.slice(4, 6)}-${name.slice(6, 8)}T${name.slice(9, 11)}:${name.slice(11, 13)}:${name.slice(13, 15)}Z`,
  );
}

/** A copy's age in hours, to a tenth, as every reader shows it. */
export const copyAgeHours = (name: string, nowMs: number) =>
  Math.round(((nowMs - copyTime(name)) / 3_600_000) * 10) / 10;

/**
 * The health check's reading of a backup set: how old its newest verified copy is (warning past
 * 26 h, critical past 50 h by default). No verified copy at all is critical: a backup nobody
 * restored is not one. A copy corrupt since its verification (`corrupt`, in words) is named and
 * makes the set at least a warning: the storage under the backups changes bytes.
 */
export function rateBackupAge(
  set: string,
  newestVerified: string | undefined,
  nowMs: number,
  limits: { warning: number; critical: number },
  corrupt?: string,
): CheckResult {
  const also = corrupt ? `; ${corrupt}` : '';
  if (!newestVerified)
    return { kind: 'backup', target: set, status: 'critical', message: `no verified backup of set ${set}${also}` };
  const hours = copyAgeHours(newestVerified, nowMs);
  const status = hours > limits.critical ? 'critical' : hours > limits.warning || corrupt ? 'warning' : 'healthy';
  return {
    kind: 'backup',
    target: set,
    status,
    value: hours,
    unit: 'h',
    message: `latest verified backup ${newestVerified} is ${hours} h old (warning past ${limits.warning} h, critical past ${limits.critical} h)${also}`,
  };
}

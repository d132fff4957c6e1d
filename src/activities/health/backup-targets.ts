import type { OpsflowConfig } from '../../config/schema';

/**
 * The backup sets a health check ages when its input names none: every configured set except one
 * whose backups the config itself has switched off, i.e. every schedule taking it is paused. Such a
 * set has no copy to age on a fresh install (the example config ships its nightly backup paused),
 * and "no verified backup" there would be critical on a healthy machine; it is checked again once
 * its schedule runs, or at once when `targets.backups` names it. A set with no schedule in the
 * config (backed up some other way) is always checked.
 */
export function defaultBackupTargets(config: Pick<OpsflowConfig, 'backups' | 'schedules'>): string[] {
  const schedules = Object.values(config.schedules ?? {}).filter(
    (s) => s.workflow === 'backupWorkflow' || s.workflow === 'backup',
  );
  const setOf = (input: unknown) => (input && typeof input === 'object' ? (input as { set?: unknown }).set : undefined);
  return Object.keys(config.backups).filter((set) => {
    const taking = schedules.filter((s) => setOf(s.input) === set);
    return taking.length === 0 || taking.some((s) => !s.paused);
  });
}

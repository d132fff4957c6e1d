import type { OpsflowConfig } from '../config/schema';
import { healthActivities } from './health';
import { notifyActivities } from './systems/notify';
import { systemdActivities } from './systems/systemd';
import { incidentDigestActivities, incidentStoreActivities } from './incident-store';
import { diagnosticsActivities } from './diagnostics';
import { remediationActivities } from './remediation';
import { loadBalancerActivities } from './systems/load-balancer';
import { metricActivities } from './systems/metrics';
import { migrationActivities } from './migration';
import { baselineActivities } from './baseline';
import { backupActivities } from './backup';
import { dailyReportActivities } from './report';
import { readinessActivities } from './readiness';
import { changeActivities } from './systems/temporal/changes-in-flight';
import { cutoverActivities } from './cutover';
import { deployActivities } from './deploy';
import { rolloutActivities } from './rollout';

/**
 * Builds the worker's activity object from the operator config: one factory per system or capability,
 * merged. Workflows import only the type (`Activities`), never this code.
 */
export function createActivities(config: OpsflowConfig) {
  return {
    ...healthActivities(config),
    ...notifyActivities(config),
    ...systemdActivities(config),
    ...incidentStoreActivities(config),
    ...incidentDigestActivities(config),
    ...diagnosticsActivities(config),
    ...remediationActivities(config),
    ...loadBalancerActivities(config),
    ...rolloutActivities(config),
    ...metricActivities(config),
    ...migrationActivities(config),
    ...baselineActivities(config),
    ...backupActivities(config),
    ...dailyReportActivities(config),
    ...readinessActivities(config),
    ...changeActivities(config),
    ...cutoverActivities(config),
    ...deployActivities(config),
  };
}

export type Activities = ReturnType<typeof createActivities>;

// The scheduled health check (runbooks §4): short enough to read whole, so one file (beside its
// activities.ts, messages.ts and status.ts, which every workflow folder has).
import * as wf from '@temporalio/workflow';
import { buildReport, describeFailures, type CheckResult, type HealthReport } from '../../domain/health/report';
import { healthCheckInput, type HealthCheckInput } from '../../domain/health/input';
import { notifyAll } from '../common/notify';
import { OpsflowHealth } from '../../domain/search-attributes';
import { parseInput } from '../input';
import { RunEnding } from '../common/ending';
import { Progress } from '../common/progress';
import { acts, opts } from './activities';
import { isBaselineRef } from '../../domain/baseline/gate';
import { statusQuery } from './messages';
import type { HealthCheckStatus } from './status';

/**
 * Retired patches (docs/upgrading.md): a health check is pinned and lasts minutes, so no run that
 * started before these branches (2026-11-24) is open; only the new branch is left, and the patch is
 * deprecated rather than removed so that runs recorded with its marker still replay.
 */
const THRESHOLDS_FROM_BASELINE = 'health-thresholds-from-baseline';
const BACKUP_AGE_CHECKS = 'health-backup-age';

export interface HealthCheckResult extends HealthReport {
  notified: string[];
  /** "thresholds from baseline of checkout taken 2026-11-20 14:00: cpuPercent 41.2/47.8 %, …" */
  thresholdsFrom?: string;
}

/**
 * runbooks §4: the check script as a workflow. Every check is its own activity, run in parallel; the
 * report says "N/M healthy"; anything down or critical alerts each notifier once per run.
 */
export async function healthCheckWorkflow(rawInput: HealthCheckInput = {}): Promise<HealthCheckResult> {
  const ending = new RunEnding();
  return ending.run(() => healthCheck(rawInput, ending));
}

async function healthCheck(rawInput: HealthCheckInput, ending: RunEnding): Promise<HealthCheckResult> {
  const input = parseInput(healthCheckInput, rawInput, 'healthCheckWorkflow');
  const status: HealthCheckStatus = { phase: 'planning', notified: [] };
  let endedWhile: HealthCheckStatus['phase'] | undefined;
  const progress = new Progress(() => details(status, endedWhile));
  wf.setHandler(statusQuery, () => status);
  // OpsflowHealth is the checked systems' health, not the run's: a run that fails leaves it as the
  // report set it (or unset), and says how it ended in its status and details.
  ending.onEnd(({ kind, message }) => {
    endedWhile = status.phase;
    status.phase = kind;
    status.failure = message;
    progress.show();
    return `health check ${kind} while ${endedWhile}`;
  });

  const fromBaseline = isBaselineRef(input.thresholds) ? input.thresholds : undefined;
  if (fromBaseline) {
    wf.deprecatePatch(THRESHOLDS_FROM_BASELINE);
    // Asked once, first: no usable baseline (none, too old, too little data) fails the run saying so.
    status.thresholdsFrom = await acts.resolveBaselineThresholds.executeWithOptions(
      opts(`thresholds from the latest baseline of ${fromBaseline.fromBaseline}`),
      [fromBaseline],
    );
  }
  const plan = await acts.planHealthCheck.executeWithOptions(opts('resolve targets from config'), [input]);
  // The baseline's CPU and memory levels over the config's (a baseline has no disk levels).
  if (status.thresholdsFrom) plan.thresholds = { ...plan.thresholds, ...status.thresholdsFrom.levels };
  status.plan = plan;
  status.phase = 'checking';

  const pending: Promise<CheckResult | CheckResult[]>[] = [
    ...plan.systemd.map((u) => acts.checkSystemdUnit.executeWithOptions(opts(`systemctl is-active ${u}`), [u])),
    ...plan.http.map((n) => acts.checkHttpEndpoint.executeWithOptions(opts(`HTTP ${n}`), [n])),
    ...plan.postgres.map((n) => acts.checkPostgres.executeWithOptions(opts(`PostgreSQL ${n}: SELECT 1`), [n])),
    ...plan.redis.map((n) => acts.checkRedis.executeWithOptions(opts(`Redis ${n}: PING`), [n])),
    ...plan.hosts.map((n) => acts.checkTcpHost.executeWithOptions(opts(`TCP ${n}`), [n])),
    ...backupAgeChecks(plan.backups ?? []),
  ];
  if (plan.resources) {
    pending.push(acts.checkHostResources.executeWithOptions(opts('host CPU, memory, disk'), [plan.thresholds]));
  }
  const report = buildReport((await Promise.all(pending)).flat());
  status.report = report;
  progress.update([{ key: OpsflowHealth, value: report.overall }]);

  if (report.failing.length > 0 && plan.notify.length > 0) {
    status.phase = 'notifying';
    const { workflowId, runId } = wf.workflowInfo();
    await notifyAll(plan.notify, 'unhealthy', {
      message: () => ({
        severity: report.overall === 'down' ? 'critical' : 'warning',
        title: `Health check: ${report.summary} (${report.failing.length} failing)`,
        text: describeFailures(report),
        details: { workflowId, runId, overall: report.overall, failing: report.failing },
      }),
      summary: (m) => `alert ${m.notifier}`,
      onSent: (m) => status.notified.push(m.notifier),
    });
  }
  status.phase = 'done';
  return {
    ...report,
    notified: status.notified,
    ...(status.thresholdsFrom ? { thresholdsFrom: status.thresholdsFrom.description } : {}),
  };
}

function details(status: HealthCheckStatus, endedWhile?: HealthCheckStatus['phase']): string {
  const report = status.report;
  if (endedWhile === undefined) return report ? `**${report.summary}** — overall ${report.overall}` : '';
  return `**health check ${status.phase} while ${endedWhile}**: ${status.failure}${report ? `\n\n${report.summary} — overall ${report.overall}` : ''}`;
}

/** One check of the latest verified backup per set; the deprecated patch where its marker stood. */
function backupAgeChecks(sets: string[]): Promise<CheckResult>[] {
  if (sets.length === 0) return [];
  wf.deprecatePatch(BACKUP_AGE_CHECKS);
  return sets.map((set) => acts.checkBackupAge.executeWithOptions(opts(`latest verified backup of ${set}`), [set]));
}

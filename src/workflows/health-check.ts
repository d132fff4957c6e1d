import * as wf from '@temporalio/workflow';
import type { Activities } from '../activities';
import { buildReport, describeFailures, type CheckResult, type HealthReport } from '../domain/health';
import { healthCheckInput, type HealthCheckInput, type HealthCheckPlan } from '../domain/health-check-input';
import { notificationKey } from '../domain/notification';
import { OpsflowHealth } from '../domain/search-attributes';
import { parseInput } from './input';

/** Checks read only, so they retry freely, but briefly: a scheduled run every minute must not pile up. */
const checkOptions: wf.ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2 },
};
/** A notification is worth more tries: the key makes a repeat harmless. */
const notifyOptions: wf.ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' },
};
const acts = wf.proxyActivities<Activities>(checkOptions);
const opts = (summary: string): wf.ActivityOptions => ({ ...checkOptions, summary });

export interface HealthCheckStatus {
  phase: 'planning' | 'checking' | 'notifying' | 'done';
  plan?: HealthCheckPlan;
  report?: HealthReport;
  notified: string[];
}

export interface HealthCheckResult extends HealthReport {
  notified: string[];
}

export const statusQuery = wf.defineQuery<HealthCheckStatus>('status');

/**
 * SPEC §4: the check script as a workflow. Every check is its own activity, run in parallel; the
 * report says "N/M healthy"; anything down or critical alerts each notifier once per run.
 */
export async function healthCheckWorkflow(rawInput: HealthCheckInput = {}): Promise<HealthCheckResult> {
  const input = parseInput(healthCheckInput, rawInput, 'healthCheckWorkflow');
  const status: HealthCheckStatus = { phase: 'planning', notified: [] };
  wf.setHandler(statusQuery, () => status);

  const plan = await acts.planHealthCheck.executeWithOptions(opts('resolve targets from config'), [input]);
  status.plan = plan;
  status.phase = 'checking';

  const pending: Promise<CheckResult | CheckResult[]>[] = [
    ...plan.systemd.map((u) => acts.checkSystemdUnit.executeWithOptions(opts(`systemctl is-active ${u}`), [u])),
    ...plan.http.map((n) => acts.checkHttpEndpoint.executeWithOptions(opts(`HTTP ${n}`), [n])),
    ...plan.postgres.map((n) => acts.checkPostgres.executeWithOptions(opts(`PostgreSQL ${n}: SELECT 1`), [n])),
    ...plan.redis.map((n) => acts.checkRedis.executeWithOptions(opts(`Redis ${n}: PING`), [n])),
    ...plan.hosts.map((n) => acts.checkTcpHost.executeWithOptions(opts(`TCP ${n}`), [n])),
  ];
  if (plan.resources) {
    pending.push(acts.checkHostResources.executeWithOptions(opts('host CPU, memory, disk'), [plan.thresholds]));
  }
  const report = buildReport((await Promise.all(pending)).flat());
  status.report = report;
  wf.upsertSearchAttributes([{ key: OpsflowHealth, value: report.overall }]);
  wf.setCurrentDetails(`**${report.summary}** — overall ${report.overall}`);

  if (report.failing.length > 0 && plan.notify.length > 0) {
    status.phase = 'notifying';
    const { workflowId, runId } = wf.workflowInfo();
    await Promise.all(
      plan.notify.map(async (name) => {
        await acts.notify.executeWithOptions({ ...notifyOptions, summary: `alert ${name}` },
          [
            {
              notifier: name,
              idempotencyKey: notificationKey(workflowId, runId, 'unhealthy', name),
              severity: report.overall === 'down' ? 'critical' : 'warning',
              title: `Health check: ${report.summary} (${report.failing.length} failing)`,
              text: describeFailures(report),
              details: { workflowId, runId, overall: report.overall, failing: report.failing },
            },
          ],
        );
        status.notified.push(name);
      }),
    );
  }
  status.phase = 'done';
  return { ...report, notified: status.notified };
}

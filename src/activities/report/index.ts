import { ApplicationFailure, Context } from '@temporalio/activity';
import type { OpsflowConfig } from '../../config/schema';
import type { DailyReportInput, DailyReportPlan } from '../../domain/report/input';
import type { BackupStanding, RedisReport, RunRecord, RunsReport, UnitState } from '../../domain/report/sections';
import { dayBounds, dayIn } from '../../domain/report/day';
import { copyAgeHours } from '../../domain/backup/age';
import { corruptSinceVerified } from '../../domain/backup/copy-state';
import { workflowTypes } from '../../domain/workflow-types';
import { configTarget } from '../config-target';
import { clientConfig } from '../systems/postgres/connect';
import { pingRedis } from '../systems/redis/ping';
import { unitIsActive } from '../systems/systemd/systemctl';
import { latestDrill, readBackupSet } from '../backup/copies';
import { hostReport, journalErrors, logErrors, postgresReport } from './gather';
import { reportStore } from './store';
import { heartbeating } from '../heartbeat';

/** At most this many runs are listed; the rest are counted. */
const MAX_RUNS = 100;

/** runbooks §4's daily report: one activity per source, each read-only, and the store of past reports. */
export function dailyReportActivities(config: OpsflowConfig) {
  const r = config.dailyReport;
  // Every source heartbeats: a worker that dies while gathering is noticed in seconds.
  return heartbeating({
    async planDailyReport(input: DailyReportInput): Promise<DailyReportPlan> {
      const date = input.date ?? dayIn(r.timezone, new Date());
      return {
        date,
        timezone: r.timezone,
        ...dayBounds(r.timezone, date),
        units: r.units ?? config.systemd.units,
        logs: r.logs,
        postgres: r.postgres ?? Object.keys(config.postgres),
        redis: r.redis ?? Object.keys(config.redis),
        backups: r.backups ?? Object.keys(config.backups),
        email: r.email,
        summary: r.summary,
        store: r.store !== undefined,
      };
    },

    reportHost: hostReport,

    async reportServices(units: string[]): Promise<UnitState[]> {
      return Promise.all(
        units.map(async (unit) => ({ unit, state: (await unitIsActive(config.systemd, unit)).state })),
      );
    },

    async reportLogErrors(logs: DailyReportPlan['logs'], day: { from: string; to: string }) {
      return Promise.all([
        ...logs.files.map((f) => logErrors(f, logs.patterns, logs.lines)),
        ...(logs.journal ? [journalErrors(logs.journal, config.systemd.sudo, day, logs.lines)] : []),
      ]);
    },

    async reportPostgres(name: string) {
      return postgresReport(clientConfig(name, configTarget(config.postgres, 'postgres', name)));
    },

    async reportRedis(name: string): Promise<RedisReport> {
      const target = configTarget(config.redis, 'redis', name);
      const p = await pingRedis(name, target);
      if (!p.ok)
        throw ApplicationFailure.retryable(`redis ${name} at ${target.host}:${target.port}: ${p.error}`, 'Unreachable');
      return { connectedClients: p.clients ?? 0, usedMemoryBytes: p.usedMemoryBytes ?? 0 };
    },

    async reportBackups(set: string): Promise<BackupStanding> {
      const dest = configTarget(config.backups, 'backups', set).destination;
      const s = await readBackupSet(dest);
      const verified = s.newestVerified;
      const corrupt = corruptSinceVerified(s.corrupt);
      return {
        copies: s.copies,
        latest: s.newest?.name,
        latestVerified: verified?.name,
        verifiedAgeHours: verified ? copyAgeHours(verified.name, Date.now()) : undefined,
        totalBytes: s.totalBytes,
        restoreSeconds: verified ? latestDrill(verified.path)?.restoreSeconds : undefined,
        ...(corrupt ? { corrupt } : {}),
      };
    },

    /** The day's runs of opsflow's workflows, from Temporal's visibility, newest first. */
    async reportRuns(day: { from: string; to: string }): Promise<RunsReport> {
      const types = new Set<string>(workflowTypes);
      const self = Context.current().info.workflowExecution?.workflowId ?? '(not a workflow)';
      const runs: RunRecord[] = [];
      let more = 0;
      for await (const w of Context.current().client.workflow.list({
        query: `StartTime >= '${day.from}' AND StartTime < '${day.to}'`,
      })) {
        if (!types.has(w.type) || w.workflowId === self) continue;
        if (runs.length >= MAX_RUNS) more++;
        else
          runs.push({
            type: w.type,
            workflowId: w.workflowId,
            status: w.status.name,
            start: w.startTime.toISOString(),
            ...(w.closeTime ? { close: w.closeTime.toISOString() } : {}),
          });
      }
      return { runs, more };
    },

    async storeDailyReport(report: {
      date: string;
      summary: string;
      markdown: string;
      html: string;
    }): Promise<{ pruned: number }> {
      const store = reportStore(config);
      if (!store) throw ApplicationFailure.nonRetryable('dailyReport.store is not configured', 'NoStore');
      return store.save({
        ...report,
        workflowId: Context.current().info.workflowExecution?.workflowId ?? '(not a workflow)',
      });
    },
  });
}

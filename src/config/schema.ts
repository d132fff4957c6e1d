import { z } from 'zod';
import { targetNames } from '../domain/fields';
import { targetName } from '../domain/names';
import { httpTarget, postgresTarget, redisTarget, tcpHostTarget } from './sections/targets';
import { notifierConfig } from './sections/notifiers';
import { systemdConfig } from './sections/systemd';
import { schedulesConfig } from './sections/schedules';
import { loadBalancerConfig } from './sections/load-balancers';
import { checkMetricSourceReferences, metricSourceConfig } from './sections/metric-sources';
import { resourceThresholds } from '../domain/health/report';
import { baselineConfig } from './sections/baseline';
import { backupSetConfig, checkBackupReferences } from './sections/backups';
import { checkDailyReportReferences, dailyReportConfig } from './sections/daily-report';
import { incidentConfig, defaultIncidentConfig, checkIncidentReferences } from './sections/incident';
import { readinessConfig, checkReadinessReferences } from './sections/readiness';
import { directoryConfig, routerConfig, cutoverConfig, checkCutoverReferences } from './sections/cutover';
import { deployConfig, checkDeployReferences } from './sections/deploy';
import { encryptionConfig } from './sections/encryption';
import { nameChecks, type Issue } from './references';

const named = <T extends z.ZodType>(schema: T) => z.record(targetName, schema).default({});

/**
 * The operator's config: every target a workflow may name, and how to reach it. Workflow inputs
 * carry only names; this file (and the secrets it points at) stays with the worker.
 */
export const opsflowConfig = z
  .object({
    http: named(httpTarget),
    postgres: named(postgresTarget),
    redis: named(redisTarget),
    hosts: named(tcpHostTarget),
    systemd: systemdConfig.default({ systemctl: 'systemctl', sudo: false, units: [] }),
    thresholds: resourceThresholds.default(resourceThresholds.parse({})),
    notifiers: named(notifierConfig),
    /** Notifiers the scheduled health check alerts when no input names its own. */
    healthCheckNotify: targetNames.default([]),
    schedules: schedulesConfig.optional(),
    /** Load balancers a phased rollout may drive (`"lb": "edge"`). */
    loadBalancers: named(loadBalancerConfig),
    /** Metric sources a rollout's health gate reads. */
    metricSources: named(metricSourceConfig),
    incident: incidentConfig.default(defaultIncidentConfig),
    baseline: baselineConfig.default({}),
    /** Backup sets `backupWorkflow` takes (`"set": "nightly"`). */
    backups: named(backupSetConfig),
    /** What the daily report gathers and who gets it. */
    dailyReport: dailyReportConfig.default(dailyReportConfig.parse({})),
    /** Go-live readiness checklists (`opsflow start readiness`). */
    readiness: readinessConfig.default({ checklists: {} }),
    /** Where a user cutover lists cohorts (`"directory": "staff"`). */
    directories: named(directoryConfig),
    /** Where a user cutover sets each user's system (`"router": "gateway"`). */
    routers: named(routerConfig),
    cutover: cutoverConfig.default({}),
    /** Services a deploy may name (`deploy.services.<name>`). */
    deploy: deployConfig.default({ services: {} }),
    /** Payload encryption for the worker, the CLI and the alert receiver, and its codec server. */
    encryption: encryptionConfig.optional(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const issue: Issue = (path, message) => ctx.addIssue({ code: 'custom', path, message });
    const { one, each } = nameChecks(issue);
    const sshHosts = cfg.systemd.hosts ?? {};
    each(['healthCheckNotify'], cfg.healthCheckNotify, cfg.notifiers, 'notifier');
    checkIncidentReferences(cfg.incident, { ...cfg, sshHosts }, issue);
    checkDeployReferences(cfg.deploy, { sshHosts, loadBalancers: cfg.loadBalancers }, issue);
    one(['baseline', 'store', 'postgres'], cfg.baseline.store?.postgres, cfg.postgres, 'postgres target');
    checkBackupReferences(cfg.backups, cfg, issue);
    checkDailyReportReferences(cfg.dailyReport, cfg, issue);
    checkReadinessReferences(cfg.readiness, cfg, issue);
    checkCutoverReferences(cfg, cfg, issue);
    checkMetricSourceReferences(cfg.metricSources, cfg, issue);
  });

export type OpsflowConfig = z.infer<typeof opsflowConfig>;

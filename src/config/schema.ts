import { z } from 'zod';
import { targetName } from '../domain/names';
import { httpTarget, postgresTarget, redisTarget, tcpHostTarget } from './sections/targets';
import { notifierConfig } from './sections/notifiers';
import { systemdConfig } from './sections/systemd';
import { schedulesConfig } from './sections/schedules';
import { loadBalancerConfig } from './sections/load-balancers';
import { metricSourceConfig } from './sections/metric-sources';
import { resourceThresholds } from '../domain/health';
import { incidentConfig, defaultIncidentConfig, checkIncidentReferences } from './sections/incident';

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
    healthCheckNotify: z.array(targetName).default([]),
    schedules: schedulesConfig.optional(),
    /** Load balancers a phased rollout may drive (`"lb": "edge"`). */
    loadBalancers: named(loadBalancerConfig),
    /** Metric sources a rollout's health gate reads. */
    metricSources: named(metricSourceConfig),
    incident: incidentConfig.default(defaultIncidentConfig),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    cfg.healthCheckNotify.forEach((name, i) => {
      if (!(name in cfg.notifiers))
        ctx.addIssue({ code: 'custom', path: ['healthCheckNotify', i], message: `unknown notifier "${name}"` });
    });
    checkIncidentReferences(
      cfg.incident,
      { notifiers: cfg.notifiers, postgres: cfg.postgres, http: cfg.http, sshHosts: cfg.systemd.hosts ?? {}, loadBalancers: cfg.loadBalancers },
      (path, message) => ctx.addIssue({ code: 'custom', path, message }),
    );
  });

export type OpsflowConfig = z.infer<typeof opsflowConfig>;

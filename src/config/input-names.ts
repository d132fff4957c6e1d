// Why: the CLI checks the names an input uses against the operator config before it starts a run,
// so a typo is refused at once; these checks read the config, so they live in its layer, and the
// domain keeps the inputs' own rules.
import type { z } from 'zod';
import type { OpsflowConfig } from './schema';
import { metricsOf } from './sections/metric-sources';
import { directoryFields } from './sections/cutover';
import { unknownNames, type UnknownName } from '../domain/config-names';
import type { BackupPlanInput } from '../domain/backup/input';
import type { BaselinePlan } from '../domain/baseline/input';
import { directoryFieldIssues, type UserCutoverInput } from '../domain/cutover/input';
import { cutoverGateSourceIssues } from '../domain/cutover/gate-sources';
import type { DiagnosticsPlan } from '../domain/diagnostics/input';
import type { GoLivePlan } from '../domain/go-live/input';
import type { HealthCheckInput } from '../domain/health/input';
import type { MigrationSpec } from '../domain/migration/input';
import type { ReadinessPlan } from '../domain/readiness/input';
import type { PhasedRolloutInput } from '../domain/rollout/input';
import { builtinRoles } from '../domain/incident/escalation';
import type { incidentDigestInput, ParsedIncidentInput } from '../domain/incident/incident';

/** Each workflow's check of the names its input uses; a new workflow adds its own. */
export type InputNameCheck<I> = (input: I, config: OpsflowConfig) => UnknownName[];

/** The notifiers an input tells (and, for a rollout or cutover, its stakeholders). */
const notified = (input: { notify?: string[]; stakeholders?: string[] }, config: OpsflowConfig) => [
  ...unknownNames('notify', input.notify, config.notifiers, 'a notifier'),
  ...unknownNames('stakeholders', input.stakeholders, config.notifiers, 'a notifier'),
];

export const backupInputNames: InputNameCheck<BackupPlanInput> = (input, config) =>
  unknownNames('set', input.set, config.backups, 'a backup set');

export const baselineInputNames: InputNameCheck<BaselinePlan> = (input, config) => [
  ...unknownNames('groups.http', input.groups.http, config.http, 'an http target'),
  ...unknownNames('groups.postgres', input.groups.postgres, config.postgres, 'a postgres target'),
  ...unknownNames('groups.redis', input.groups.redis, config.redis, 'a redis target'),
  ...notified(input, config),
];

export const userCutoverInputNames: InputNameCheck<UserCutoverInput> = (input, config) => {
  const dir = config.directories[input.directory];
  return [
    ...unknownNames('directory', input.directory, config.directories, 'a directory'),
    ...unknownNames('router', input.router, config.routers, 'a router'),
    ...unknownNames('metricSources', input.metricSources, config.metricSources, 'a metric source'),
    ...notified(input, config),
    ...(dir ? directoryFieldIssues(input, directoryFields(dir), input.directory) : []),
    ...cutoverGateSourceIssues(
      input,
      Object.fromEntries(Object.entries(config.metricSources).map(([name, source]) => [name, metricsOf(source)])),
    ),
  ];
};

/** The names a deploy or rollback input uses: the service, its hosts, the notifiers. */
export const deployInputNames: InputNameCheck<{ service: string; hosts?: string[]; notify: string[] }> = (
  input,
  config,
) => {
  const service = config.deploy.services[input.service];
  const out: UnknownName[] = [...unknownNames('service', input.service, config.deploy.services, 'a deploy service')];
  if (service) out.push(...unknownNames('hosts', input.hosts, service.hosts, `a host of service ${input.service}`));
  out.push(...notified(input, config));
  return out;
};

export const diagnosticsInputNames: InputNameCheck<DiagnosticsPlan> = (input, config) =>
  unknownNames('postgres', input.postgres, config.postgres, 'a postgres target');

export const goLiveInputNames: InputNameCheck<GoLivePlan> = (i, config) => {
  const under = (stage: string, names: UnknownName[]) =>
    names.map((n) => ({ ...n, field: `stages.${stage}.${n.field}` }));
  const s = i.stages;
  return [
    ...(s.readiness ? under('readiness', readinessInputNames({ ...s.readiness, service: i.service }, config)) : []),
    ...(s.baseline ? under('baseline', baselineInputNames(s.baseline, config)) : []),
    ...(s.dataMigration ? under('dataMigration', dataMigrationInputNames(s.dataMigration, config)) : []),
    ...(s.phasedRollout ? under('phasedRollout', phasedRolloutInputNames(s.phasedRollout, config)) : []),
    ...(s.userCutover ? under('userCutover', userCutoverInputNames(s.userCutover, config)) : []),
  ];
};

/**
 * The config names a health-check input uses. Systemd units are not checked: any unit may be
 * checked, config.systemd.units is only the list a run without one checks.
 */
export const healthCheckInputNames: InputNameCheck<HealthCheckInput> = (input, config) => [
  ...unknownNames('targets.http', input.targets?.http, config.http, 'an http target'),
  ...unknownNames('targets.postgres', input.targets?.postgres, config.postgres, 'a postgres target'),
  ...unknownNames('targets.redis', input.targets?.redis, config.redis, 'a redis target'),
  ...unknownNames('targets.hosts', input.targets?.hosts, config.hosts, 'a hosts target'),
  ...unknownNames('targets.backups', input.targets?.backups, config.backups, 'a backup set'),
  ...notified(input, config),
];

/** The config names a migration input uses: its two databases. */
export const dataMigrationInputNames: InputNameCheck<MigrationSpec> = (input, config) => [
  ...unknownNames('source.database', input.source.database, config.postgres, 'a postgres database'),
  ...unknownNames('target.database', input.target.database, config.postgres, 'a postgres database'),
];

export const readinessInputNames: InputNameCheck<ReadinessPlan> = (input, config) => [
  ...unknownNames('checklist', input.checklist, config.readiness.checklists, 'a readiness checklist'),
  ...notified(input, config),
];

/**
 * The config names a rollout input uses: the LB, the servers where the config lists them (nginx,
 * HTTP API; HAProxy's are asked of HAProxy when the run plans), metric sources and notifiers.
 */
export const phasedRolloutInputNames: InputNameCheck<PhasedRolloutInput> = (input, config) => {
  const lb = config.loadBalancers[input.lb];
  const servers = lb?.type === 'nginx' ? Object.keys(lb.servers) : lb?.type === 'http-api' ? lb.servers : undefined;
  const what = `a server of load balancer ${input.lb}`;
  return [
    ...unknownNames('lb', input.lb, config.loadBalancers, 'a load balancer'),
    ...(servers
      ? [
          ...unknownNames('backends.old', input.backends.old, servers, what),
          ...unknownNames('backends.new', input.backends.new, servers, what),
        ]
      : []),
    ...unknownNames('metricSources', input.metricSources, config.metricSources, 'a metric source'),
    ...notified(input, config),
  ];
};

/**
 * An incident input names no config entry: its services are labels (the remediation runbook acts
 * on those the config describes, and only reports the others).
 */
export const incidentInputNames: InputNameCheck<ParsedIncidentInput> = () => [];

/** The digest's recipients: roles (built in or config.incident.contacts) or notifiers. */
export const incidentDigestInputNames: InputNameCheck<z.output<typeof incidentDigestInput>> = (input, config) =>
  unknownNames(
    'notify',
    input.notify,
    [...builtinRoles, ...Object.keys(config.incident.contacts), ...Object.keys(config.notifiers)],
    'a role or notifier',
  );

import { z } from 'zod';
import { nonEmpty, positiveInt, targetNames } from '../../domain/fields';
import { defaultSeverityLabels, severity, severityRule, severities } from '../../domain/incident/severity';
import { rota, defaultRota } from '../../domain/incident/oncall';
import { builtinRoles, escalationPolicy, defaultEscalationPolicy, recipient } from '../../domain/incident/escalation';
import { remediationConfig } from '../../domain/incident/runbook';
import { secretRef } from '../secrets';
import { postgresStoreConfig } from './postgres-store';
import { tcpPort } from '../../domain/names';
import { nameChecks, type ConfigPath, type Issue } from '../references';

/** The Alertmanager webhook receiver (`opsflow alerts serve`). */
const alertReceiverConfig = z
  .object({
    host: nonEmpty.default('127.0.0.1'),
    port: tcpPort.default(9095),
    /** Alertmanager sends it as `Authorization: Bearer …` (http_config.authorization). */
    token: secretRef,
    maxBodyBytes: positiveInt.default(1_000_000),
  })
  .strict();

/**
 * Incident response (runbooks §6): where incidents are stored, who is told, how escalation goes,
 * and which remediation steps run without waiting for `approve`.
 */
export const incidentConfig = z
  .object({
    /** The config.postgres database holding the incident tables, and the schema they live in. */
    store: postgresStoreConfig.optional(),
    /** Extra classification rules, evaluated before the runbook's table (first match wins). */
    severityRules: z.array(severityRule).default([]),
    /**
     * Values of the alert's `severity` label (critical, warning...) to levels, over the default
     * table: an entry here adds a value or changes its level, the others stay.
     */
    severityLabels: z
      .record(
        z
          .string()
          .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'a lower-case severity label value such as critical or warning'),
        severity,
      )
      .default({})
      .transform((t) => ({ ...defaultSeverityLabels, ...t })),
    /** Roles to notifiers, e.g. {"cto": ["cto-mail"], "ops-lead": ["ops-sms", "ops-mail"]}. */
    contacts: z.record(recipient, targetNames).default({}),
    /** Notifiers told of every P0–P2 incident besides the people (Slack channel, PagerDuty). */
    channels: targetNames.default([]),
    /** Who is told per severity; default runbooks §6's notify column. */
    notify: z.partialRecord(z.enum(severities), z.array(recipient)).default({}),
    rota: rota.default(defaultRota),
    /** Who gets the business-hours digest of P3 incidents (incidentDigestWorkflow). */
    digestNotify: z.array(recipient).default(['engineers']),
    escalation: escalationPolicy.default(defaultEscalationPolicy),
    remediation: remediationConfig.default(remediationConfig.parse({})),
    /** A war-room link put in P0 messages (runbooks §6 "open a war room"). */
    warRoomUrl: z.url().optional(),
    receiver: alertReceiverConfig.optional(),
    /**
     * What an incident does to a change of one of its services still running (`rollout-<service>`,
     * `cutover-<service>`, `deploy-<service>`): per severity abort (roll back), pause, or nothing.
     */
    changesInFlight: z
      .object({
        actions: z.partialRecord(z.enum(severities), z.enum(['abort', 'pause', 'none'])).default({}),
        prefixes: targetNames.min(1).default(['rollout', 'cutover', 'deploy']),
      })
      .strict()
      .default({ actions: {}, prefixes: ['rollout', 'cutover', 'deploy'] }),
  })
  .strict();
export type IncidentConfig = z.infer<typeof incidentConfig>;

export const defaultIncidentConfig: IncidentConfig = incidentConfig.parse({});

/** Every name an incident section refers to must exist elsewhere in the config. */
export function checkIncidentReferences(
  cfg: IncidentConfig,
  known: {
    notifiers: Record<string, unknown>;
    postgres: Record<string, unknown>;
    http: Record<string, unknown>;
    sshHosts: Record<string, unknown>;
    loadBalancers?: Record<string, unknown>;
  },
  issue: Issue,
): void {
  const at = (...path: ConfigPath) => ['incident', ...path];
  const { one, each } = nameChecks((path, message) => issue(at(...path), message));
  const roles = new Set<string>([...builtinRoles, ...Object.keys(cfg.contacts)]);
  const recipients = (path: ConfigPath, names: string[] | undefined) =>
    names?.forEach((n, i) => {
      if (!roles.has(n) && !(n in known.notifiers)) issue(at(...path, i), `"${n}" is neither a role nor a notifier`);
    });
  Object.entries(cfg.contacts).forEach(([role, ns]) => each(['contacts', role], ns, known.notifiers, 'notifier'));
  each(['channels'], cfg.channels, known.notifiers, 'notifier');
  Object.entries(cfg.notify).forEach(([sev, rs]) => recipients(['notify', sev], rs));
  recipients(['digestNotify'], cfg.digestNotify);
  cfg.rota.shifts.forEach((s, si) => each(['rota', 'shifts', si, 'notify'], s.notify, known.notifiers, 'notifier'));
  cfg.escalation.levels.forEach((l, li) => recipients(['escalation', 'levels', li, 'notify'], l.notify));
  one(['store', 'postgres'], cfg.store?.postgres, known.postgres, 'postgres target');
  const rem = cfg.remediation;
  Object.entries(rem.services).forEach(([svc, r]) => {
    one(['remediation', 'services', svc, 'health'], r.health, known.http, 'http target');
    one(['remediation', 'services', svc, 'host'], r.host, known.sshHosts, 'systemd.hosts entry');
  });
  one(['remediation', 'database', 'primary'], rem.database?.primary, known.postgres, 'postgres target');
  one(['remediation', 'database', 'replica'], rem.database?.replica, known.postgres, 'postgres target');
  if (rem.backupServers && !(rem.backupServers.lb in (known.loadBalancers ?? {})))
    issue(
      at('remediation', 'backupServers', 'lb'),
      `unknown load balancer "${rem.backupServers.lb}" (not in config.loadBalancers)`,
    );
  one(['remediation', 'diagnostics', 'postgres'], rem.diagnostics.postgres, known.postgres, 'postgres target');
}

/** What an incident says of itself when no store is configured (status, timeline, postmortem). */
export const INCIDENT_STORE_MISSING =
  'incident.store is not set: this incident is kept only in its workflow history and status ' +
  '(not in `opsflow incident list/show`, no postmortem row in PostgreSQL, not in the P3 digest)';

/**
 * Incidents run without a store (they page and stop changes all the same), but an operator who
 * uses them should know at start what is lost. "In use": a receiver, people or runbooks to act
 * on, or a scheduled digest; a config with none of these has no incidents to lose.
 */
export function incidentStoreWarning(
  cfg: IncidentConfig,
  schedules: Record<string, { workflow: string }> = {},
): string | undefined {
  if (cfg.store) return undefined;
  const uses = [
    cfg.receiver && 'incident.receiver',
    Object.keys(cfg.contacts).length && 'incident.contacts',
    cfg.channels.length && 'incident.channels',
    Object.keys(cfg.notify).length && 'incident.notify',
    Object.keys(cfg.remediation.services).length && 'incident.remediation.services',
    ...Object.entries(schedules)
      .filter(([, s]) => s.workflow === 'incidentDigestWorkflow')
      .map(([name]) => `schedules.${name}`),
  ].filter((u): u is string => typeof u === 'string');
  if (!uses.length) return undefined;
  return (
    `incident.store is not set, though incidents are in use (${uses.join(', ')}): incidents still page, stop the changes ` +
    'of their services and keep their record in workflow history and the status query, but nothing is written to ' +
    'PostgreSQL: no search across incidents (`opsflow incident list/show`), no postmortem table, no P3 business-hours ' +
    'digest. Set incident.store: { postgres: <name>, schema: opsflow }'
  );
}

export type ChangeAction = 'abort' | 'pause' | 'none';
/** P0/P1 roll the change back, P2 holds it for a person, P3 leaves it alone. */
export const defaultChangeActions: Record<(typeof severities)[number], ChangeAction> = {
  P0: 'abort',
  P1: 'abort',
  P2: 'pause',
  P3: 'none',
};

import { z } from 'zod';
import { count, flag, nonNegative, texts, unitNames } from '../fields';
import { durationIn } from '../duration';
import { targetName } from '../names';
import type { Severity } from './severity';

/** How to bring a service back: restart its units (in order), then its health endpoint must answer. */
export const serviceRemediation = z
  .object({
    /** Restarted in this order, e.g. ["nginx", "app"] (runbooks §6: nginx, then the app unit). */
    units: unitNames.min(1),
    /** A name in config.systemd.hosts to restart over SSH; default this host. */
    host: targetName.optional(),
    /** A name in config.http: must answer its expected status after the restart. */
    health: targetName.optional(),
    /** runbooks §6: wait 10 s after the restart before checking. */
    settleSeconds: nonNegative.max(600).default(10),
    healthAttempts: count.max(30).default(5),
    healthIntervalSeconds: durationIn('seconds', 600).default(5),
  })
  .strict();
type ServiceRemediation = z.infer<typeof serviceRemediation>;

const databaseRemediation = z
  .object({
    /** A name in config.postgres: checked with SELECT 1 within its connect timeout (10 s default). */
    primary: targetName,
    /** A name in config.postgres: promoted with pg_promote() when the primary is down. */
    replica: targetName.optional(),
    /** Instead of pg_promote(), run this argv (no shell), e.g. ["patronictl", "failover", "--force"]. */
    failoverCommand: texts.min(1).optional(),
  })
  .strict()
  .refine((d) => d.replica !== undefined || d.failoverCommand !== undefined, {
    message: 'give a replica to promote or a failoverCommand',
  });

/** runbooks §6 P0: backup servers brought into rotation through a load balancer (the rollout's LB adapter). */
const backupServersRemediation = z
  .object({
    /** A name in config.loadBalancers. */
    lb: targetName,
    /** Servers (as that LB names them) to set `ready`. */
    servers: z
      .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'a server name: letters, digits, ".", "_" or "-"'))
      .min(1),
  })
  .strict();

const diagnosticsConfig = z
  .object({
    /** Host snapshot through systeminformation: uptime, load, memory, disks, top processes. */
    host: z.boolean().default(true),
    /** Named argv lists (no shell) whose output lands in the incident record, e.g. {"nginx-log": ["tail", "-n", "50", "/var/log/nginx/error.log"]}. */
    commands: z.record(targetName, texts.min(1)).default({}),
    /** A name in config.postgres: non-idle sessions and slow statements (pg_stat_statements). */
    postgres: targetName.optional(),
    commandTimeoutSeconds: z.number().positive().max(300).default(20),
  })
  .strict();

const stepKinds = ['restart', 'database', 'backup-servers', 'diagnostics'] as const;
type StepKind = (typeof stepKinds)[number];

/** Kinds of step that act destructively and so wait for `approve` unless pre-approved. */
const preApproval = z
  .object({
    restart: flag,
    failover: flag,
    'backup-servers': flag,
  })
  .strict();

export const remediationConfig = z
  .object({
    /** Per service name (as incidents name them): how to restart it. */
    services: z.record(targetName, serviceRemediation).default({}),
    database: databaseRemediation.optional(),
    backupServers: backupServersRemediation.optional(),
    diagnostics: diagnosticsConfig.default(diagnosticsConfig.parse({})),
    preApproved: preApproval.default(preApproval.parse({})),
    /** Which step kinds run per severity; default runbooks §6 (P0 everything, P1/P2 diagnostics, P3 none). */
    runbooks: z.partialRecord(z.enum(['P0', 'P1', 'P2', 'P3']), z.array(z.enum(stepKinds))).default({}),
    /** Types that restart their services whatever the severity's runbook says, e.g. service_down. */
    restartOnTypes: texts.default(['service_down']),
  })
  .strict();
export type RemediationConfig = z.infer<typeof remediationConfig>;

const defaultRunbooks: Record<Severity, StepKind[]> = {
  P0: ['restart', 'database', 'backup-servers', 'diagnostics'],
  P1: ['diagnostics'],
  P2: ['diagnostics'],
  P3: [],
};

export type RunbookStep =
  | { id: string; kind: 'restart'; service: string; remediation: ServiceRemediation; needsApproval: boolean }
  | { id: string; kind: 'database'; primary: string; replica?: string; command?: string[]; needsApproval: boolean }
  | { id: string; kind: 'backup-servers'; lb: string; servers: string[]; needsApproval: boolean }
  | { id: string; kind: 'diagnostics'; needsApproval: false };

/**
 * The remediation steps of one incident, in the order runbooks §6 gives (restart web services, check
 * the primary database and fail over, activate backup servers, collect diagnostics). Steps that
 * the config cannot carry out (no service entry, no database, no backup servers) are left out.
 */
export function planRunbook(sev: Severity, type: string, services: string[], cfg: RemediationConfig): RunbookStep[] {
  const kinds = new Set(cfg.runbooks[sev] ?? defaultRunbooks[sev]);
  if (cfg.restartOnTypes.includes(type) && sev !== 'P3') kinds.add('restart');
  if (type === 'database_down' && cfg.database) kinds.add('database');
  const steps: RunbookStep[] = [];
  if (kinds.has('restart')) {
    for (const s of services) {
      const r = cfg.services[s];
      if (r)
        steps.push({
          id: `restart-${s}`,
          kind: 'restart',
          service: s,
          remediation: r,
          needsApproval: !cfg.preApproved.restart,
        });
    }
  }
  if (kinds.has('database') && cfg.database) {
    steps.push({
      id: 'failover-database',
      kind: 'database',
      primary: cfg.database.primary,
      replica: cfg.database.replica,
      command: cfg.database.failoverCommand,
      needsApproval: !cfg.preApproved.failover,
    });
  }
  if (kinds.has('backup-servers') && cfg.backupServers) {
    steps.push({
      id: 'activate-backup-servers',
      kind: 'backup-servers',
      lb: cfg.backupServers.lb,
      servers: cfg.backupServers.servers,
      needsApproval: !cfg.preApproved['backup-servers'],
    });
  }
  if (kinds.has('diagnostics')) steps.push({ id: 'diagnostics', kind: 'diagnostics', needsApproval: false });
  return steps;
}

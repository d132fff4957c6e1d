import { ApplicationFailure } from '@temporalio/activity';
import type { OpsflowConfig } from '../../config/schema';
import { defaultSeverityRecipients } from '../../domain/incident/escalation';
import type { IncidentPlan } from '../../domain/incident/plan';
import { severities } from '../../domain/incident/severity';
import { probe } from '../systems/http/probe';
import { clientConfig, withClient } from '../systems/postgres/connect';
import { pingPostgres } from '../systems/postgres/ping';
import { commandOutput } from '../diagnostics/commands';
import { configTarget } from '../config-target';
import { whileHeartbeating } from '../heartbeat';
import { INCIDENT_STORE_MISSING } from '../../config/sections/incident';

function pgTarget(config: OpsflowConfig, name: string, field: string) {
  return clientConfig(name, configTarget(config.postgres, 'postgres', name, field), field);
}

/**
 * The incident workflow's view of the config, and the remediation actions that are not systemd's.
 */
export function remediationActivities(config: OpsflowConfig) {
  async function failover(input: {
    replica?: string;
    command?: string[];
  }): Promise<{ method: string; promoted: boolean; message: string }> {
    if (input.command) {
      const r = await commandOutput(input.command, 120_000);
      if (r.exitCode !== 0)
        throw ApplicationFailure.retryable(
          `failover command ${input.command[0]} exited ${r.exitCode ?? r.error}: ${r.output.slice(-300)}`,
          'FailoverFailed',
        );
      return { method: 'command', promoted: true, message: `${input.command.join(' ')} exited 0` };
    }
    if (!input.replica)
      throw ApplicationFailure.nonRetryable(
        'failover needs a replica or a command (incident.remediation.database)',
        'InvalidConfig',
      );
    return withClient(pgTarget(config, input.replica, 'incident.remediation.database.replica'), async (c) => {
      const before = await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
      if (!before.rows[0].r)
        return {
          method: 'pg_promote',
          promoted: false,
          message: `${input.replica} is already a primary (not in recovery)`,
        };
      const r = await c.query<{ ok: boolean }>('SELECT pg_promote(true, 60) AS ok');
      if (!r.rows[0].ok)
        throw ApplicationFailure.retryable(
          `pg_promote() on ${input.replica} did not finish within 60 s`,
          'FailoverFailed',
        );
      return { method: 'pg_promote', promoted: true, message: `${input.replica} promoted with pg_promote()` };
    });
  }

  return {
    /**
     * Everything the workflow decides with, read from config: rules, contacts, rota, policy,
     * runbook settings. Names only, no secrets. Only reads, so it retries freely.
     */
    async planIncident(): Promise<IncidentPlan> {
      const c = config.incident;
      return {
        severityRules: c.severityRules,
        severityLabels: c.severityLabels,
        ...(c.store ? {} : { storeMissing: INCIDENT_STORE_MISSING }),
        contacts: c.contacts,
        channels: c.channels,
        recipients: Object.fromEntries(
          severities.map((s) => [s, c.notify[s] ?? defaultSeverityRecipients[s]]),
        ) as IncidentPlan['recipients'],
        digestRecipients: c.digestNotify,
        rota: c.rota,
        escalation: c.escalation,
        remediation: c.remediation,
        warRoomUrl: c.warRoomUrl,
        notifierTypes: Object.fromEntries(Object.entries(config.notifiers).map(([n, v]) => [n, v.type])),
      };
    },

    /** runbooks §6: `SELECT 1` on the primary within its connect timeout (10 s by default). Only reads. */
    async checkPrimaryDatabase(name: string) {
      return pingPostgres(pgTarget(config, name, 'incident.remediation.database.primary'));
    },

    /**
     * Fails over: `pg_promote()` on the replica, or the configured command. Idempotent: a replica
     * that is no longer in recovery has been promoted already and is left alone; a configured
     * command must itself be safe to repeat (Patroni's and repmgr's failover commands are).
     */
    async failoverDatabase(input: Parameters<typeof failover>[0]) {
      return whileHeartbeating(() => failover(input));
    },

    /**
     * One probe of a configured HTTP target; not healthy is a retryable failure so that the
     * workflow's retry policy (attempts, interval) is the "verify with retries" of the runbook.
     */
    async verifyHealthEndpoint(name: string): Promise<{ status?: number; latencyMs: number }> {
      const target = configTarget(config.http, 'http', name);
      const r = await probe(target);
      if (!r.ok) {
        throw ApplicationFailure.retryable(
          `${name} (${target.url}) ${r.error ? `failed: ${r.error}` : `answered ${r.status}, expected ${target.expectStatus}`}`,
          'Unhealthy',
        );
      }
      return { status: r.status, latencyMs: r.latencyMs };
    },
  };
}

import { ApplicationFailure } from '@temporalio/activity';
import type { OpsflowConfig } from '../../config/schema';
import { clientConfig } from '../systems/postgres/connect';
import { storeDiagnostics } from '../incident-store';
import { hostDiagnostics } from './host';
import { commandOutput } from './commands';
import { postgresDiagnostics } from './postgres';
import { whileHeartbeating } from '../heartbeat';
import type { HostFindings, PostgresFindings } from '../../domain/diagnostics/findings';
import { keptDiagnostics } from '../../domain/incident/kept-diagnostics';

export interface DiagnosticsSummary {
  sections: string[];
  failed: string[];
  /** With `keep`: the sections themselves, bounded (kept-diagnostics.ts), for the incident's status. */
  kept?: string;
}

/** `keep`: there is no store to write to (none configured, or it refused the record): send them back. */
export interface DiagnosticsRequest {
  incidentId: string;
  keep?: boolean;
}

/**
 * Collects what the runbook asks for into the incident record (the `diagnostics` column), one
 * section per source. Idempotent: each section is an upsert of its key on the incident row, so a
 * retry replaces it with a fresher snapshot. Only a short summary goes back to the workflow: the
 * snapshot itself can be large and stays out of the history. An incident without a store asks to
 * `keep` them instead: they come back cut to a bound, rather than being collected and then lost.
 */
export function diagnosticsActivities(config: OpsflowConfig) {
  return {
    collectDiagnostics: (input: DiagnosticsRequest): Promise<DiagnosticsSummary> =>
      whileHeartbeating(() => collect(input)),

    /** The PostgreSQL part of `diagnosticsWorkflow`: the same queries, returned whole (bounded lists). */
    async diagnosePostgres(target: string): Promise<PostgresFindings> {
      const t = config.postgres[target];
      if (!t) throw ApplicationFailure.nonRetryable(`unknown postgres target "${target}" (postgres)`, 'UnknownTarget');
      return whileHeartbeating(() => postgresDiagnostics(clientConfig(target, t, 'target')));
    },

    /** The host part of `diagnosticsWorkflow`: this worker's host, as incident response sees it. */
    async diagnoseHost(): Promise<HostFindings> {
      return whileHeartbeating(hostDiagnostics);
    },
  };

  async function collect(input: DiagnosticsRequest): Promise<DiagnosticsSummary> {
    const d = config.incident.remediation.diagnostics;
    const section: Record<string, unknown> = { collectedAt: new Date().toISOString() };
    const failed: string[] = [];
    const tryPart = async (name: string, fn: () => Promise<unknown>) => {
      try {
        section[name] = await fn();
      } catch (err) {
        failed.push(name);
        section[name] = { error: (err as Error).message };
      }
    };
    if (d.host) await tryPart('host', hostDiagnostics);
    for (const [name, argv] of Object.entries(d.commands)) {
      await tryPart(`command:${name}`, async () => {
        const r = await commandOutput(argv, d.commandTimeoutSeconds * 1000);
        if (r.exitCode !== 0) failed.push(`command:${name}`);
        return r;
      });
    }
    if (d.postgres) {
      const target = config.postgres[d.postgres];
      if (!target)
        throw ApplicationFailure.nonRetryable(
          `unknown postgres target "${d.postgres}" (incident.remediation.diagnostics.postgres)`,
          'UnknownTarget',
        );
      await tryPart(`postgres:${d.postgres}`, () =>
        postgresDiagnostics(clientConfig(d.postgres!, target, 'incident.remediation.diagnostics.postgres')),
      );
    }
    const sections = Object.keys(section).filter((k) => k !== 'collectedAt');
    if (input.keep) {
      const { collectedAt: _at, ...parts } = section;
      return { sections, failed, kept: keptDiagnostics(parts) };
    }
    await storeDiagnostics(config, input.incidentId, section);
    return { sections, failed };
  }
}

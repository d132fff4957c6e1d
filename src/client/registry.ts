import type { z } from 'zod';
import { healthCheckInput } from '../domain/health-check-input';
import { phasedRolloutInput, rolloutWorkflowId } from '../domain/rollout-input';
import { dataMigrationInput } from '../domain/migration-input';
import { incidentDigestInput, incidentInput } from '../domain/incident';

/**
 * What the CLI, the schedules and the alert receiver know of each workflow: the input schema the
 * workflow itself parses with, an id that says what the run acts on, and a one-line summary for
 * the Web UI. Adding a workflow to opsflow's front doors is adding one entry.
 */
export interface WorkflowEntry<S extends z.ZodType = z.ZodType> {
  type: string;
  /** Short name for the CLI: `opsflow start health-check`. */
  alias: string;
  input: S;
  workflowId(input: z.infer<S>, now: Date): string;
  summary(input: z.infer<S>): string;
  /** Whether the workflow keeps running and answers `status` (long workflows); informational. */
  description: string;
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

export const healthCheckEntry: WorkflowEntry<typeof healthCheckInput> = {
  type: 'healthCheckWorkflow',
  alias: 'health-check',
  input: healthCheckInput,
  workflowId: (_input, now) => `health-check-${stamp(now)}`,
  summary: (input) =>
    input.targets ? `Health check of ${Object.values(input.targets).flat().length || 'selected'} targets` : 'Health check of every configured target',
  description: 'SPEC §4 health checks: systemd units, host resources, HTTP, PostgreSQL, Redis, TCP; alerts when down',
};

export const phasedRolloutEntry: WorkflowEntry<typeof phasedRolloutInput> = {
  type: 'phasedRolloutWorkflow',
  alias: 'phased-rollout',
  input: phasedRolloutInput,
  // One id per service: Temporal refuses a second rollout of a service while one runs.
  workflowId: (input, now) => (input.dryRun ? `${rolloutWorkflowId(input.service)}-dry-run-${stamp(now)}` : rolloutWorkflowId(input.service)),
  summary: (input) =>
    `${input.dryRun ? 'DRY RUN: ' : ''}Phased rollout of ${input.service} on ${input.lb}: ${input.backends.old} → ${input.backends.new}, ` +
    input.steps.map((s) => `${s.weight}%`).join(' → '),
  description: 'SPEC §1 phased rollout behind a load balancer with metric health gates and automatic rollback',
};

export const dataMigrationEntry: WorkflowEntry<typeof dataMigrationInput> = {
  type: 'dataMigrationWorkflow',
  alias: 'data-migration',
  input: dataMigrationInput,
  // One id per migration name: Temporal refuses a second copy of the same migration while one runs.
  workflowId: (input, now) => (input.mode === 'dry-run' ? `data-migration-${input.name}-dry-run-${stamp(now)}` : `data-migration-${input.name}`),
  summary: (input) =>
    `${input.mode === 'dry-run' ? 'DRY RUN: ' : ''}Data migration ${input.name} (${input.mode}): ` +
    `${input.source.database}.${input.source.table} → ${input.target.database}.${input.target.table}`,
  description: 'SPEC §2 data migration: chunked, resumable copy with flags, checksums and bisection to differing keys',
};

export const incidentEntry: WorkflowEntry<typeof incidentInput> = {
  type: 'incidentResponseWorkflow',
  alias: 'incident',
  input: incidentInput,
  // One incident per alert fingerprint (the alert receiver's id); otherwise one per type and second.
  workflowId: (input, now) => (input.fingerprint ? `incident-${input.fingerprint}` : `incident-${input.type.replace(/_/g, '-')}-${stamp(now)}`),
  summary: (input) =>
    `Incident${input.severity ? ` ${input.severity}` : ''}: ${input.title} (${input.type}${input.services.length ? ` on ${input.services.join(', ')}` : ''})`,
  description: 'SPEC §6 incident response: severity, on-call, notifications with escalation, auto-remediation, postmortem',
};

export const incidentDigestEntry: WorkflowEntry<typeof incidentDigestInput> = {
  type: 'incidentDigestWorkflow',
  alias: 'incident-digest',
  input: incidentDigestInput,
  workflowId: (_input, now) => `incident-digest-${stamp(now)}`,
  summary: () => 'P3 incident digest for business hours',
  description: 'SPEC §6 P3: one message listing the minor incidents not yet reported',
};

export const workflowEntries: WorkflowEntry<any>[] = [healthCheckEntry, phasedRolloutEntry, dataMigrationEntry, incidentEntry, incidentDigestEntry];

export function findWorkflow(name: string): WorkflowEntry | undefined {
  return workflowEntries.find((e) => e.type === name || e.alias === name);
}

export { stamp as idTimestamp };

import type { z } from 'zod';
import { healthCheckInput } from '../domain/health/input';
import { phasedRolloutInput, rolloutWorkflowId } from '../domain/rollout/input';
import { dataMigrationInput } from '../domain/migration/input';
import { incidentDigestInput, incidentInput } from '../domain/incident/incident';
import { baselineInput, baselineWorkflowId, sampledGroups } from '../domain/baseline/input';
import { readinessInput, readinessWorkflowId } from '../domain/readiness/input';
import { goLiveInput, goLiveWorkflowId, stageOrder } from '../domain/go-live/input';
import { formatDuration } from '../domain/duration';
import { backupInput } from '../domain/backup/input';
import { dailyReportInput } from '../domain/report/input';
import { diagnosticsInput } from '../domain/diagnostics/input';
import { cutoverWorkflowId, userCutoverInput } from '../domain/cutover/input';
import { deployInput, deployWorkflowId, rollbackDeployInput } from '../domain/deploy/input';
import {
  type InputNameCheck,
  backupInputNames,
  baselineInputNames,
  dataMigrationInputNames,
  deployInputNames,
  diagnosticsInputNames,
  goLiveInputNames,
  healthCheckInputNames,
  incidentDigestInputNames,
  incidentInputNames,
  phasedRolloutInputNames,
  readinessInputNames,
  userCutoverInputNames,
} from '../config/input-names';
import { actionVerbs, signalNames, type ActionVerb, type WorkflowMessages } from '../workflows/common/messages';
import { rolloutMessages } from '../workflows/rollout/messages';
import { cutoverMessages } from '../workflows/cutover/messages';
import { deployMessages } from '../workflows/deploy/messages';
import { migrationMessages } from '../workflows/migration/messages';
import { baselineMessages } from '../workflows/baseline/messages';
import { readinessMessages } from '../workflows/readiness/messages';
import { goLiveMessages } from '../workflows/go-live/messages';
import { incidentMessages } from '../workflows/incident/messages';

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
  /** The names the (parsed) input uses that the operator config lacks. */
  inputNames: InputNameCheck<z.infer<S>>;
  workflowId(input: z.infer<S>, now: Date): string;
  summary(input: z.infer<S>): string;
  /**
   * When the id is a lock (one run per thing at a time): what it guards and what the operator can
   * do, said when the CLI's start is refused because a run holds it.
   */
  lock?(input: z.infer<S>, workflowId: string): string;
  /**
   * What a long workflow takes, from its folder's `messages.ts`: the `status` query, its signals
   * (`opsflow signal` refuses a name not listed, so a mistyped action is not sent into silence) and
   * the operator actions it answers as Updates (the CLI's verbs).
   */
  messages?: WorkflowMessages;
}

/** An entry whose functions read the input its schema parses. */
function entry<S extends z.ZodType>(
  type: string,
  alias: string,
  input: S,
  inputNames: InputNameCheck<z.infer<S>>,
  rest: Omit<WorkflowEntry<S>, 'type' | 'alias' | 'input' | 'inputNames'>,
): WorkflowEntry<S> {
  return { type, alias, input, inputNames, ...rest };
}

const stamp = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

/** runbooks §4 health checks: systemd units, host resources, HTTP, PostgreSQL, Redis, TCP; alerts when down */
export const healthCheckEntry = entry('healthCheckWorkflow', 'health-check', healthCheckInput, healthCheckInputNames, {
  workflowId: (_input, now) => `health-check-${stamp(now)}`,
  summary: (input) =>
    input.targets
      ? `Health check of ${Object.values(input.targets).flat().length || 'selected'} targets`
      : 'Health check of every configured target',
});

/** runbooks §1 phased rollout behind a load balancer with metric health gates and automatic rollback */
export const phasedRolloutEntry = entry(
  'phasedRolloutWorkflow',
  'phased-rollout',
  phasedRolloutInput,
  phasedRolloutInputNames,
  {
    // One id per service: Temporal refuses a second rollout of a service while one runs.
    workflowId: (input, now) =>
      input.dryRun ? `${rolloutWorkflowId(input.service)}-dry-run-${stamp(now)}` : rolloutWorkflowId(input.service),
    summary: (input) =>
      `${input.dryRun ? 'DRY RUN: ' : ''}Phased rollout of ${input.service} on ${input.lb}: ${input.backends.old} → ${input.backends.new}, ` +
      input.steps.map((s) => `${s.weight}%`).join(' → '),
    messages: rolloutMessages,
  },
);

/** runbooks §2 data migration: chunked, resumable copy with flags, checksums and bisection to differing keys */
export const dataMigrationEntry = entry(
  'dataMigrationWorkflow',
  'data-migration',
  dataMigrationInput,
  dataMigrationInputNames,
  {
    // One id per migration name: Temporal refuses a second copy of the same migration while one runs.
    workflowId: (input, now) =>
      input.mode === 'dry-run' ? `data-migration-${input.name}-dry-run-${stamp(now)}` : `data-migration-${input.name}`,
    summary: (input) =>
      `${input.mode === 'dry-run' ? 'DRY RUN: ' : ''}Data migration ${input.name} (${input.mode}): ` +
      `${input.source.database}.${input.source.table} → ${input.target.database}.${input.target.table}`,
    messages: migrationMessages,
  },
);

/** runbooks §6 incident response: severity, on-call, notifications with escalation, auto-remediation, postmortem */
export const incidentEntry = entry('incidentResponseWorkflow', 'incident', incidentInput, incidentInputNames, {
  // One incident per alert fingerprint (the alert receiver's id); otherwise one per type and second.
  workflowId: (input, now) =>
    input.fingerprint ? `incident-${input.fingerprint}` : `incident-${input.type.replace(/_/g, '-')}-${stamp(now)}`,
  summary: (input) =>
    `Incident${input.severity ? ` ${input.severity}` : ''}: ${input.title} (${input.type}${input.services.length ? ` on ${input.services.join(', ')}` : ''})`,
  messages: incidentMessages,
});

/** runbooks §6 P3: one message listing the minor incidents not yet reported */
export const incidentDigestEntry = entry(
  'incidentDigestWorkflow',
  'incident-digest',
  incidentDigestInput,
  incidentDigestInputNames,
  {
    workflowId: (_input, now) => `incident-digest-${stamp(now)}`,
    summary: () => 'P3 incident digest for business hours',
  },
);

/** runbooks §5 performance baseline: every group sampled in parallel, statistics and derived thresholds stored and reported */
const baselineEntry = entry('performanceBaselineWorkflow', 'baseline', baselineInput, baselineInputNames, {
  // One id per service: Temporal refuses a second baseline of a service while one runs.
  workflowId: (input) => baselineWorkflowId(input.service),
  summary: (input) =>
    `Performance baseline of ${input.service}: ${sampledGroups(input.groups)
      .map((g) => g.id)
      .join(', ')} for ${formatDuration(input.duration)}, every ${formatDuration(input.interval)}`,
  messages: baselineMessages,
});

/** runbooks §9 diagnostics: slow statements, table and index sizes, unused indexes, sessions, host state; a Markdown report */
export const diagnosticsEntry = entry('diagnosticsWorkflow', 'diagnostics', diagnosticsInput, diagnosticsInputNames, {
  workflowId: (input, now) => `diagnostics-${input.postgres ?? 'host'}-${stamp(now)}`,
  summary: (input) =>
    `Diagnostics of ${[input.postgres && `PostgreSQL ${input.postgres}`, input.host && 'the host'].filter(Boolean).join(' and ')}`,
});

/** runbooks §8 backups: pg_dump with same-snapshot table checksums, tars of the app tree and config, restore drill, retention, report */
export const backupEntry = entry('backupWorkflow', 'backup', backupInput, backupInputNames, {
  // One run per set at a time: two runs of one set would race on its retention.
  workflowId: (input) => `backup-${input.set}`,
  summary: (input) =>
    `Backup of set ${input.set}${input.drill ? ', proven by a restore drill' : ' WITHOUT a restore drill'}`,
});

/** runbooks §4 daily report: host, services, errors, PostgreSQL, Redis, backups and the day's runs; email, summary, kept in PostgreSQL */
// The input names nothing in the config; the config's own dailyReport section is checked when it loads.
const dailyReportEntry = entry('dailyReportWorkflow', 'daily-report', dailyReportInput, () => [], {
  workflowId: (input, now) => `daily-report-${input.date ?? stamp(now)}`,
  summary: (input) => `Daily report${input.date ? ` of ${input.date}` : ''}`,
});

/** runbooks §10 go-live readiness: live checks with evidence, sign-offs and expiring waivers; READY or NOT READY */
const readinessEntry = entry('readinessCheckWorkflow', 'readiness', readinessInput, readinessInputNames, {
  // One open gate per service: a second start while one is open is refused by Temporal.
  workflowId: (input) => readinessWorkflowId(input.service),
  summary: (input) =>
    `Go-live readiness of ${input.service}: checklist ${input.checklist}, open for ${formatDuration(input.deadline)}`,
  messages: readinessMessages,
});

/** Go-live as one run: readiness → baseline → data migration → phased rollout as child workflows; stops at the first failed stage */
const goLiveEntry = entry('goLiveWorkflow', 'go-live', goLiveInput, goLiveInputNames, {
  workflowId: (input) => goLiveWorkflowId(input.service),
  summary: (input) =>
    `Go-live of ${input.service}: ${stageOrder.filter((s) => input.stages[s]).join(' → ')}${input.approveBetweenStages ? ' (approval between stages)' : ''}`,
  messages: goLiveMessages,
});

/** runbooks §3 batched user cutover: cohorts moved at durable start times, each watched on its own gate and restored exactly on failure */
const userCutoverEntry = entry('userCutoverWorkflow', 'user-cutover', userCutoverInput, userCutoverInputNames, {
  // One id per service: Temporal refuses a second cutover of a service while one runs.
  workflowId: (input) => cutoverWorkflowId(input.service),
  summary: (input) =>
    `User cutover of ${input.service} via ${input.router}: ${input.batches.map((b) => `${b.name} at ${b.startAt}`).join(' → ')}`,
  messages: cutoverMessages,
});

const deployLock = (service: string, id: string) =>
  `one deploy or rollback of ${service} runs at a time (the running workflow is its lock); wait for it (opsflow result ${id}) or stop it (opsflow abort ${id})`;

/** runbooks §7 deploy across a fleet: releases, atomic switch, drained hosts, a saga per host, failure budget */
const deployEntry = entry('deployWorkflow', 'deploy', deployInput, deployInputNames, {
  // One id per service, shared with the rollback: the running workflow is the deploy lock.
  workflowId: (input) => deployWorkflowId(input.service),
  lock: (input, id) => deployLock(input.service, id),
  summary: (input) =>
    `Deploy ${input.ref} to ${input.hosts ? input.hosts.join(', ') : `every host of ${input.service}`} (${input.service}), serial ${input.serial}`,
  messages: deployMessages,
});

/** Switches hosts back to the previous (or a named) complete release through the deploy saga */
const rollbackDeployEntry = entry('rollbackDeployWorkflow', 'rollback-deploy', rollbackDeployInput, deployInputNames, {
  workflowId: (input) => deployWorkflowId(input.service),
  lock: (input, id) => deployLock(input.service, id),
  summary: (input) => `Roll back ${input.service} to ${input.release ?? 'the previous complete release'}`,
  messages: deployMessages,
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry has its own input schema; the list holds them all
export const workflowEntries: WorkflowEntry<any>[] = [
  healthCheckEntry,
  phasedRolloutEntry,
  dataMigrationEntry,
  incidentEntry,
  incidentDigestEntry,
  baselineEntry,
  userCutoverEntry,
  deployEntry,
  rollbackDeployEntry,
  diagnosticsEntry,
  backupEntry,
  dailyReportEntry,
  readinessEntry,
  goLiveEntry,
];

/** The messages of each long workflow type (see `WorkflowEntry.messages`). */
export const messagesByType: Record<string, WorkflowMessages> = Object.fromEntries(
  workflowEntries.flatMap((e) => (e.messages ? [[e.type, e.messages]] : [])),
);

/** Every signal name a workflow type answers (none for the short runs). */
export function knownSignals(type: string): string[] {
  const m = messagesByType[type];
  return m ? signalNames(m) : [];
}

/** The CLI verbs a workflow type answers as Updates. */
export function knownActions(type: string): ActionVerb[] {
  const m = messagesByType[type];
  return m ? actionVerbs.filter((v) => m.actions[v]) : [];
}

export function findWorkflow(name: string): WorkflowEntry | undefined {
  return workflowEntries.find((e) => e.type === name || e.alias === name);
}

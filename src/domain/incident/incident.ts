import { z } from 'zod';
import { count, nonEmpty, targetNames } from '../fields';
import { metricName, severity, type Severity, type SlaClocks } from './severity';

/** Incident types are identifiers (`service_down`, `database_down`, `high_cpu`, ...). */
export const incidentType = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, 'a lower-case type such as service_down or high_cpu');

/** An Alertmanager fingerprint (hex) or any plain token: it becomes part of the workflow id. */
export const fingerprint = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" or "-" (max 64)');

/**
 * How much of an alert the incident shows: its title, description and labels appear in messages,
 * the `status` query, search and the record's columns. The alert receiver cuts longer text to
 * these with a visible marker and keeps the whole text in the alert evidence.
 */
export const displayLimits = { title: 200, description: 4000, labelName: 100, labelValue: 500 } as const;

/**
 * The alert evidence keeps every label and annotation whole up to this many characters each (the
 * receiver's body limit bounds the whole); it travels in the workflow input, so it is in history.
 */
export const EVIDENCE_TEXT_MAX = 64_000;

const evidenceText = z.string().max(EVIDENCE_TEXT_MAX);

/**
 * The alert as Alertmanager sent it: every label and annotation, whole. Stored once with the
 * incident (column `alert`), never shown in messages. `ignored` lists the steering labels the
 * receiver could not use (a metric that is not a number, an unknown severity, ...).
 */
const alertEvidence = z
  .object({
    labels: z.record(evidenceText, evidenceText),
    annotations: z.record(evidenceText, evidenceText),
    startsAt: evidenceText.optional(),
    generatorURL: evidenceText.optional(),
    ignored: z.array(z.string().max(1000)).max(100).optional(),
  })
  .strict();
export type AlertEvidence = z.infer<typeof alertEvidence>;

/**
 * Input of `incidentResponseWorkflow`, the same from the CLI, the alert receiver and `temporal
 * workflow start`. It names services and carries numbers; it never carries a secret.
 */
export const incidentInput = z
  .object({
    title: z.string().trim().min(1).max(displayLimits.title),
    type: incidentType,
    services: targetNames.max(50).default([]),
    /** errorRate (%), responseTimeMs, cpuPercent, usersAffectedPercent, ... */
    metrics: z.record(metricName, z.number().finite()).default({}),
    labels: z.record(nonEmpty.max(displayLimits.labelName), z.string().max(displayLimits.labelValue)).default({}),
    description: z.string().max(displayLimits.description).optional(),
    /** Overrides the classification (an operator who knows better); the rule is still recorded. */
    severity: severity.optional(),
    source: z.enum(['alertmanager', 'cli', 'api']).default('api'),
    fingerprint: fingerprint.optional(),
    /** Alertmanager's link back to the alert, shown in messages. */
    generatorUrl: z.url().optional(),
    /** The receiver's copy of the whole alert (see alertEvidence). */
    alert: alertEvidence.optional(),
  })
  .strict();
export type IncidentInput = z.input<typeof incidentInput>;
export type ParsedIncidentInput = z.output<typeof incidentInput>;

type IncidentState = 'open' | 'acknowledged' | 'resolved';

export type TimelineKind =
  | 'opened'
  | 'classified'
  | 'oncall'
  | 'notified'
  | 'escalated'
  | 'acknowledged'
  | 'remediation'
  /** A change (rollout, cutover, deploy) of an affected service stopped, or found not running. */
  | 'change'
  | 'approval'
  | 'note'
  | 'alert'
  | 'sla'
  | 'resolved'
  | 'digest'
  /** The incident store is not configured, cannot be reached, or refused the record. */
  | 'store';
export type Outcome = 'ok' | 'failed' | 'skipped' | 'waiting';

export interface TimelineEntry {
  /** Position on the timeline: with the incident id, the key that makes re-storing harmless. */
  seq: number;
  at: string;
  kind: TimelineKind;
  message: string;
  outcome?: Outcome;
  by?: string;
}

/** What the incident tables hold for one incident (and what `status` answers). */
export interface IncidentRecord {
  id: string;
  workflowId: string;
  title: string;
  type: string;
  severity: Severity;
  severityReason: string;
  state: IncidentState;
  owner?: string;
  services: string[];
  metrics: Record<string, number>;
  labels: Record<string, string>;
  source: string;
  fingerprint?: string;
  openedAt: string;
  acknowledgedAt?: string;
  resolvedAt?: string;
  sla: SlaClocks;
  escalationLevel: number;
  /** P3: waiting for the business-hours digest. */
  digest: boolean;
  timeline: TimelineEntry[];
  postmortem?: string;
}

/** Signal arguments. `by` names a person; all optional so `temporal workflow signal` needs no input. */
export const actorInput = z
  .object({ by: z.string().max(100).optional(), note: z.string().max(4000).optional() })
  .strict();
export type ActorInput = z.infer<typeof actorInput>;
export const noteInput = z.object({ text: nonEmpty.max(4000), by: z.string().max(100).optional() }).strict();
export type NoteInput = z.infer<typeof noteInput>;
export const approveInput = z
  .object({ step: z.string().max(100).optional(), by: z.string().max(100).optional() })
  .strict();
export type ApproveInput = z.infer<typeof approveInput>;
/** A firing alert seen again for the open incident (signal-with-start from the receiver). */
export const alertInput = z
  .object({
    status: z.enum(['firing', 'resolved']),
    startsAt: z.string().optional(),
    summary: z.string().max(500).optional(),
  })
  .strict();
export type AlertInput = z.infer<typeof alertInput>;

/** `INC-YYYYMMDDHHMMSS` in UTC; `-2`, `-3` ... when another incident took that second. */
export function incidentId(at: Date, attempt = 1): string {
  const s = at.toISOString();
  const base = `INC-${s.slice(0, 4)}${s.slice(5, 7)}${s.slice(8, 10)}${s.slice(11, 13)}${s.slice(14, 16)}${s.slice(17, 19)}`;
  return attempt <= 1 ? base : `${base}-${attempt}`;
}

/**
 * The id of an incident with no store to hand out `-2`, `-3`: the second plus a suffix hashed from
 * the run chain's key (`<workflowId>/<firstRunId>`), which is unique per incident, the same on
 * every replay and kept by a reset, so two incidents of one second differ without asking anyone.
 * Seven base-36 characters (FNV-1a, 32 bits): it never reads as one of the store's counters.
 */
export function storelessIncidentId(at: Date, runKey: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < runKey.length; i++) h = Math.imul(h ^ runKey.charCodeAt(i), 0x01000193) >>> 0;
  return `${incidentId(at)}-${h.toString(36).padStart(7, '0')}`;
}

export function minutesBetween(from: string, to: string): number {
  return Math.round(((Date.parse(to) - Date.parse(from)) / 60_000) * 10) / 10;
}

/** Input of `incidentDigestWorkflow` (the P3 business-hours digest, usually run by a schedule). */
export const incidentDigestInput = z
  .object({
    /** Roles or notifiers; default config.incident.digestNotify. */
    notify: targetNames.optional(),
    limit: count.max(500).default(100),
  })
  .strict();
export type IncidentDigestInput = z.input<typeof incidentDigestInput>;

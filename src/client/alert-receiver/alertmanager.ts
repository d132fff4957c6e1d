import { z } from 'zod';
import { fingerprint, incidentInput, type ParsedIncidentInput } from '../../domain/incident';
import { severities } from '../../domain/severity';
import { formatIssues } from '../../domain/validation';

/** Prometheus Alertmanager's webhook payload, version 4 (fields Alertmanager may add later are ignored). */
export const alertmanagerAlert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()).refine((l) => 'alertname' in l, 'an alertname label'),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.string().min(1),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint,
});
export type AlertmanagerAlert = z.infer<typeof alertmanagerAlert>;

export const alertmanagerPayload = z.object({
  version: z.literal('4'),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().min(0).optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: z.record(z.string(), z.string()).default({}),
  commonLabels: z.record(z.string(), z.string()).default({}),
  commonAnnotations: z.record(z.string(), z.string()).default({}),
  externalURL: z.string().default(''),
  alerts: z.array(alertmanagerAlert).min(1).max(1000),
});
export type AlertmanagerPayload = z.infer<typeof alertmanagerPayload>;

/** Labels or annotations that carry the numbers the severity rules read. */
const metricKeys: Record<string, string> = {
  error_rate: 'errorRate',
  response_time_ms: 'responseTimeMs',
  cpu_percent: 'cpuPercent',
  users_affected_percent: 'usersAffectedPercent',
};

export interface MappedAlert {
  status: 'firing' | 'resolved';
  workflowId: string;
  input: ParsedIncidentInput;
  startsAt: string;
}

export class AlertPayloadError extends Error {}

const typeOf = (alertname: string) =>
  alertname
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^[^a-z]+/, '')
    .slice(0, 63) || 'alert';

/** The workflow id of an alert's incident: one per fingerprint, so repeats join the open one. */
export const incidentWorkflowId = (fp: string) => `incident-${fp}`;

/**
 * One alert as incident input. Labels `incident_type`, `service`/`services` (comma-separated) and
 * `opsflow_severity` (P0–P3) steer it; `error_rate`, `response_time_ms`, `cpu_percent` and
 * `users_affected_percent` (label or annotation) become metrics for the severity rules.
 */
export function alertToIncident(alert: AlertmanagerAlert, index: number): MappedAlert {
  const where = `alerts.${index}`;
  const l = alert.labels;
  const a = alert.annotations;
  const metrics: Record<string, number> = {};
  for (const [key, name] of Object.entries(metricKeys)) {
    const raw = a[key] ?? l[key];
    if (raw === undefined) continue;
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) throw new AlertPayloadError(`${where}.${key in a ? 'annotations' : 'labels'}.${key}: a number, got ${JSON.stringify(raw)}`);
    metrics[name] = value;
  }
  const sev = l.opsflow_severity;
  if (sev !== undefined && !(severities as readonly string[]).includes(sev)) throw new AlertPayloadError(`${where}.labels.opsflow_severity: one of ${severities.join(', ')}`);
  const services = (l.services ?? l.service ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const raw = {
    title: a.summary ?? a.title ?? l.alertname,
    type: l.incident_type ?? typeOf(l.alertname),
    services,
    metrics,
    labels: l,
    description: a.description,
    severity: sev,
    source: 'alertmanager',
    fingerprint: alert.fingerprint,
    generatorUrl: alert.generatorURL || undefined,
  };
  const parsed = incidentInput.safeParse(raw);
  if (!parsed.success) throw new AlertPayloadError(formatIssues(parsed.error, `${where}(as incident)`));
  return { status: alert.status, workflowId: incidentWorkflowId(alert.fingerprint), input: parsed.data, startsAt: alert.startsAt };
}

/** Checks the whole payload before anything is started: one bad alert refuses the lot. */
export function parseAlertmanagerPayload(body: unknown): MappedAlert[] {
  const p = alertmanagerPayload.safeParse(body);
  if (!p.success) throw new AlertPayloadError(formatIssues(p.error));
  return p.data.alerts.map(alertToIncident);
}

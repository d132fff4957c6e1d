import { z } from 'zod';
import { nonEmpty, nonNegativeInt, stringMap } from '../../domain/fields';
import {
  displayLimits,
  EVIDENCE_TEXT_MAX,
  fingerprint,
  incidentInput,
  incidentType,
  type AlertEvidence,
  type ParsedIncidentInput,
} from '../../domain/incident/incident';
import { severities } from '../../domain/incident/severity';
import { targetName } from '../../domain/names';
import { formatIssues } from '../../domain/validation';
import { truncateText } from '../../domain/incident/text-limits';

/**
 * Prometheus Alertmanager's webhook payload, version 4 (fields Alertmanager may add later are
 * ignored). Only what makes a payload Alertmanager's is checked here: any size and any label
 * Alertmanager accepts is accepted, because Alertmanager does not retry a 4xx and the alerts of
 * a refused payload would be lost.
 */
const alertmanagerAlert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: stringMap,
  annotations: stringMap.default({}),
  startsAt: nonEmpty,
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint,
});
export type AlertmanagerAlert = z.infer<typeof alertmanagerAlert>;

const alertmanagerPayload = z.object({
  version: z.literal('4'),
  groupKey: z.string(),
  truncatedAlerts: nonNegativeInt.optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: stringMap.default({}),
  commonLabels: stringMap.default({}),
  commonAnnotations: stringMap.default({}),
  externalURL: z.string().default(''),
  // No upper bound: the receiver's body limit bounds the payload, `max_alerts` bounds it at the source.
  alerts: z.array(alertmanagerAlert).min(1),
});

/** Labels or annotations that carry the numbers the severity rules read. */
const metricKeys: Record<string, string> = {
  error_rate: 'errorRate',
  response_time_ms: 'responseTimeMs',
  cpu_percent: 'cpuPercent',
  users_affected_percent: 'usersAffectedPercent',
};
const MAX_SERVICES = 50;

export interface MappedAlert {
  status: 'firing' | 'resolved';
  workflowId: string;
  input: ParsedIncidentInput;
  startsAt: string;
  /** Steering labels that could not be used, in words (also in the evidence). */
  ignored: string[];
}

/** The payload is not Alertmanager's: the receiver answers 400 with this message. */
export class AlertPayloadError extends Error {}

const typeOf = (alertname: string) =>
  alertname
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^[^a-z]+/, '')
    .slice(0, 63) || 'alert';

/** The workflow id of an alert's incident: one per fingerprint, so repeats join the open one. */
const incidentWorkflowId = (fp: string) => `incident-${fp}`;

/**
 * A map whose keys and values are cut to the limits, every entry kept: two long keys that cut to
 * the same text get ` #2`, ` #3`... so neither hides the other.
 */
function fitRecord(record: Record<string, string>, keyMax: number, valueMax: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) {
    const name = key === '' ? '(empty name)' : key;
    let k = truncateText(name, keyMax);
    for (let n = 2; k in out; n++) k = `${truncateText(name, keyMax - ` #${n}`.length)} #${n}`;
    out[k] = truncateText(value, valueMax);
  }
  return out;
}

const quoted = (s: string) => JSON.stringify(truncateText(s, 80));

/**
 * One alert as incident input; never refuses an alert Alertmanager sent. Labels `incident_type`,
 * `service`/`services` (comma-separated) and `opsflow_severity` (P0–P3) steer it;
 * `error_rate`, `response_time_ms`, `cpu_percent` and `users_affected_percent` (label or
 * annotation) become metrics for the severity rules. The conventional `severity` label stays a
 * label: the workflow maps it through the config's table (incident.severityLabels) when it
 * classifies, beside the rules, so incidents opened by hand read it the same way. A steering value that cannot be used is
 * ignored and listed in `ignored`. Title, description and labels are cut to `displayLimits`;
 * the whole alert goes into the input's `alert` evidence.
 */
export function alertToIncident(alert: AlertmanagerAlert, index: number): MappedAlert {
  const where = `alerts.${index}`;
  const l = alert.labels;
  const a = alert.annotations;
  const ignored: string[] = [];
  const metrics: Record<string, number> = {};
  for (const [key, name] of Object.entries(metricKeys)) {
    const from = key in a ? 'annotations' : 'labels';
    const raw = a[key] ?? l[key];
    if (raw === undefined) continue;
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) ignored.push(`${from}.${key} ${quoted(raw)}: not a number`);
    else metrics[name] = value;
  }
  let severity: ParsedIncidentInput['severity'];
  if (l.opsflow_severity !== undefined) {
    if ((severities as readonly string[]).includes(l.opsflow_severity))
      severity = l.opsflow_severity as ParsedIncidentInput['severity'];
    else
      ignored.push(
        `labels.opsflow_severity ${quoted(l.opsflow_severity)}: not one of ${severities.join(', ')}; the severity rules and the severity label decide`,
      );
  }
  const alertname = l.alertname ?? '';
  let type = typeOf(alertname);
  if (l.incident_type !== undefined) {
    if (incidentType.safeParse(l.incident_type).success) type = l.incident_type;
    else ignored.push(`labels.incident_type ${quoted(l.incident_type)}: not a lower-case type; used ${type}`);
  }
  const services: string[] = [];
  const serviceLabel = l.services !== undefined ? 'services' : 'service';
  for (const s of (l.services ?? l.service ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    if (!targetName.safeParse(s).success) ignored.push(`labels.${serviceLabel} ${quoted(s)}: not a service name`);
    else if (services.length === MAX_SERVICES)
      ignored.push(`labels.${serviceLabel} ${quoted(s)}: more than ${MAX_SERVICES} services`);
    else if (!services.includes(s)) services.push(s);
  }
  let generatorUrl: string | undefined;
  if (alert.generatorURL) {
    if (z.url().max(EVIDENCE_TEXT_MAX).safeParse(alert.generatorURL).success) generatorUrl = alert.generatorURL;
    else ignored.push(`generatorURL ${quoted(alert.generatorURL)}: not a URL`);
  }
  const title = (a.summary ?? a.title ?? alertname).trim() || `alert ${alert.fingerprint}`;
  const evidence: AlertEvidence = {
    labels: fitRecord(l, EVIDENCE_TEXT_MAX, EVIDENCE_TEXT_MAX),
    annotations: fitRecord(a, EVIDENCE_TEXT_MAX, EVIDENCE_TEXT_MAX),
    startsAt: truncateText(alert.startsAt, EVIDENCE_TEXT_MAX),
    ...(alert.generatorURL ? { generatorURL: truncateText(alert.generatorURL, EVIDENCE_TEXT_MAX) } : {}),
    ...(ignored.length ? { ignored: ignored.slice(0, 100) } : {}),
  };
  const raw = {
    title: truncateText(title, displayLimits.title),
    type,
    services,
    metrics,
    labels: fitRecord(l, displayLimits.labelName, displayLimits.labelValue),
    description: a.description === undefined ? undefined : truncateText(a.description, displayLimits.description),
    severity,
    source: 'alertmanager',
    fingerprint: alert.fingerprint,
    generatorUrl,
    alert: evidence,
  };
  const parsed = incidentInput.safeParse(raw);
  // Everything above fits the input by construction: a failure here is opsflow's bug, not the payload's.
  if (!parsed.success)
    throw new Error(`${where}: the receiver built an invalid incident input: ${formatIssues(parsed.error)}`);
  return {
    status: alert.status,
    workflowId: incidentWorkflowId(alert.fingerprint),
    input: parsed.data,
    startsAt: alert.startsAt,
    ignored,
  };
}

/** Checks that the payload is Alertmanager's before anything is started; 400 only for that. */
export function parseAlertmanagerPayload(body: unknown): MappedAlert[] {
  const p = alertmanagerPayload.safeParse(body);
  if (!p.success) throw new AlertPayloadError(formatIssues(p.error));
  return p.data.alerts.map(alertToIncident);
}

import { z } from 'zod';
import { nonEmpty, texts } from '../fields';

/** runbooks §6's severity levels, most severe first. */
export const severities = ['P0', 'P1', 'P2', 'P3'] as const;
export type Severity = (typeof severities)[number];
export const severity = z.enum(severities);

/** Metric names are plain identifiers so that a rule can never reference something unparsable. */
export const metricName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/, 'a metric name such as errorRate or responseTimeMs');

/**
 * One row of the classification table. Every condition given must hold (AND); a rule with no
 * condition would match everything, so it is refused. Config rules use the same shape and are
 * evaluated before the runbook's defaults, so an operator can both raise and lower a case.
 */
export const severityRule = z
  .object({
    severity,
    /** Shown on the timeline: why this severity. */
    name: nonEmpty.max(120).optional(),
    /** The incident type is one of these. */
    type: z.union([nonEmpty, texts.min(1)]).optional(),
    /** This service is among the incident's services. */
    service: nonEmpty.optional(),
    /** A label has this value. */
    label: z.record(nonEmpty, z.string()).optional(),
    /** metric > above (strictly). */
    metric: metricName.optional(),
    above: z.number().optional(),
  })
  .strict()
  .refine((r) => (r.metric === undefined) === (r.above === undefined), { message: 'metric and above go together' })
  .refine((r) => r.type !== undefined || r.service !== undefined || r.label !== undefined || r.metric !== undefined, {
    message: 'a rule needs at least one condition (type, service, label or metric/above)',
  });
export type SeverityRule = z.infer<typeof severityRule>;

/** runbooks §6's classification, as a table. Order matters: the first rule that matches wins. */
export const defaultSeverityRules: SeverityRule[] = [
  { severity: 'P0', name: 'web server down', type: 'service_down', service: 'web-server' },
  { severity: 'P0', name: 'database down', type: 'database_down' },
  { severity: 'P0', name: 'error rate > 50%', metric: 'errorRate', above: 50 },
  { severity: 'P1', name: 'response time > 10 s', metric: 'responseTimeMs', above: 10_000 },
  { severity: 'P1', name: 'error rate > 20%', metric: 'errorRate', above: 20 },
  { severity: 'P1', name: 'CPU > 95%', type: 'high_cpu', metric: 'cpuPercent', above: 95 },
  { severity: 'P2', name: 'response time > 5 s', metric: 'responseTimeMs', above: 5_000 },
  { severity: 'P2', name: 'error rate > 5%', metric: 'errorRate', above: 5 },
];

export interface Classifiable {
  type: string;
  services: string[];
  metrics: Record<string, number>;
  labels: Record<string, string>;
}

export interface Classification {
  severity: Severity;
  /** The rule that decided, or "default" when none matched. */
  reason: string;
}

function ruleMatches(rule: SeverityRule, incident: Classifiable): boolean {
  if (rule.type !== undefined) {
    const types = Array.isArray(rule.type) ? rule.type : [rule.type];
    if (!types.includes(incident.type)) return false;
  }
  if (rule.service !== undefined && !incident.services.includes(rule.service)) return false;
  if (rule.label !== undefined && !Object.entries(rule.label).every(([k, v]) => incident.labels[k] === v)) return false;
  if (rule.metric !== undefined) {
    const value = incident.metrics[rule.metric];
    if (value === undefined || !(value > (rule.above as number))) return false;
  }
  return true;
}

function describeRule(rule: SeverityRule): string {
  if (rule.name) return rule.name;
  const parts: string[] = [];
  if (rule.type !== undefined) parts.push(`type ${Array.isArray(rule.type) ? rule.type.join('|') : rule.type}`);
  if (rule.service !== undefined) parts.push(`service ${rule.service}`);
  if (rule.label !== undefined)
    parts.push(
      Object.entries(rule.label)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    );
  if (rule.metric !== undefined) parts.push(`${rule.metric} > ${rule.above}`);
  return parts.join(', ');
}

/** The label almost every Prometheus rule set puts on its alerts. */
const SEVERITY_LABEL = 'severity';

/**
 * The conventional values of the `severity` label and the level each means; `incident.severityLabels`
 * adds to or changes this table. `critical` stops at P1: P0 (an outage) is the rules' to decide.
 */
export const defaultSeverityLabels: Record<string, Severity> = {
  critical: 'P1',
  page: 'P1',
  error: 'P2',
  warning: 'P2',
  ticket: 'P3',
  info: 'P3',
};

/** A label value as the table keys it: `Critical ` and `critical` are the same convention. */
const severityLabelKey = (value: string) => value.trim().toLowerCase();

/**
 * The `severity` label's value and the level the table gives it (none when the value is not in
 * the table), or undefined when the incident carries no such label.
 */
function severityFromLabel(
  labels: Record<string, string>,
  table: Record<string, Severity>,
): { value: string; severity?: Severity } | undefined {
  const value = labels[SEVERITY_LABEL];
  if (value === undefined) return undefined;
  return { value, severity: table[severityLabelKey(value)] };
}

/**
 * The config's rules decide first (they can raise and lower). Otherwise the `severity` label's
 * level, raised further when the runbook's table says worse; with neither, P3, and the reason says
 * that nothing decided so a quiet downgrade is visible. `severityLabels` empty means labels are not
 * read (the built-in first look, and runs whose config predates the label table).
 */
export function classify(
  incident: Classifiable,
  extraRules: SeverityRule[] = [],
  severityLabels: Record<string, Severity> = {},
): Classification {
  for (const rule of extraRules) {
    if (ruleMatches(rule, incident)) return { severity: rule.severity, reason: describeRule(rule) };
  }
  const readsLabels = Object.keys(severityLabels).length > 0;
  const label = readsLabels ? severityFromLabel(incident.labels, severityLabels) : undefined;
  const table = defaultSeverityRules.find((rule) => ruleMatches(rule, incident));
  const fromLabel = label?.severity && `${SEVERITY_LABEL} label ${JSON.stringify(label.value)}`;
  if (table && (!label?.severity || moreSevere(table.severity, label.severity) === table.severity)) {
    return {
      severity: table.severity,
      reason: describeRule(table) + (fromLabel ? ` (${fromLabel} says ${label!.severity})` : ''),
    };
  }
  if (label?.severity) return { severity: label.severity, reason: fromLabel! };
  if (label)
    return {
      severity: 'P3',
      reason: `no severity rule matched and ${SEVERITY_LABEL} label ${JSON.stringify(label.value)} is not in incident.severityLabels`,
    };
  return { severity: 'P3', reason: readsLabels ? NOTHING_DECIDED : 'no severity rule matched' };
}

/** The reason of a P3 that no rule and no label decided. */
const NOTHING_DECIDED = `no severity rule matched and no ${SEVERITY_LABEL} label`;

function moreSevere(a: Severity, b: Severity): Severity {
  return severities.indexOf(a) <= severities.indexOf(b) ? a : b;
}

/** runbooks §6's clocks, in minutes. */
const slaMinutes: Record<Severity, { respond: number; resolve: number }> = {
  P0: { respond: 15, resolve: 4 * 60 },
  P1: { respond: 30, resolve: 8 * 60 },
  P2: { respond: 2 * 60, resolve: 24 * 60 },
  P3: { respond: 4 * 60, resolve: 72 * 60 },
};

export interface SlaClocks {
  respondBy: string;
  resolveBy: string;
  respondMinutes: number;
  resolveMinutes: number;
}

export function slaClocks(sev: Severity, openedAt: Date): SlaClocks {
  const m = slaMinutes[sev];
  return {
    respondMinutes: m.respond,
    resolveMinutes: m.resolve,
    respondBy: new Date(openedAt.getTime() + m.respond * 60_000).toISOString(),
    resolveBy: new Date(openedAt.getTime() + m.resolve * 60_000).toISOString(),
  };
}

/** How urgent the message of a severity is (Notification.severity). */
export const notificationSeverity = { P0: 'emergency', P1: 'critical', P2: 'warning', P3: 'info' } as const;

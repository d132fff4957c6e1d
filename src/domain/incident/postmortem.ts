import { minutesBetween, type IncidentRecord, type TimelineEntry } from './incident';

export interface SlaVerdict {
  timeToAcknowledgeMinutes?: number;
  timeToResolveMinutes?: number;
  respondMet?: boolean;
  resolveMet?: boolean;
}

/** Time to acknowledge and resolve against the SLA clocks; undefined while a clock still runs. */
export function slaVerdict(r: Pick<IncidentRecord, 'openedAt' | 'acknowledgedAt' | 'resolvedAt' | 'sla'>): SlaVerdict {
  // A resolution without an acknowledgement still is the first response.
  const responded = r.acknowledgedAt ?? r.resolvedAt;
  const tta = responded ? minutesBetween(r.openedAt, responded) : undefined;
  const ttr = r.resolvedAt ? minutesBetween(r.openedAt, r.resolvedAt) : undefined;
  return {
    timeToAcknowledgeMinutes: tta,
    timeToResolveMinutes: ttr,
    respondMet: tta === undefined ? undefined : tta <= r.sla.respondMinutes,
    resolveMet: ttr === undefined ? undefined : ttr <= r.sla.resolveMinutes,
  };
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const fmt = (m: number | undefined) =>
  m === undefined ? 'n/a' : m < 120 ? `${m} min` : `${Math.round((m / 60) * 10) / 10} h`;
const met = (b: boolean | undefined) => (b === undefined ? 'n/a' : b ? 'met' : '**missed**');

function actions(timeline: TimelineEntry[]): TimelineEntry[] {
  return timeline.filter(
    (e) => e.kind === 'remediation' || e.kind === 'change' || e.kind === 'notified' || e.kind === 'escalated',
  );
}

/**
 * The postmortem in Markdown: summary, SLA table, the actions taken and their outcomes, and the
 * full timeline. Root cause and follow-ups are left as headings for the review (runbooks §6 "review").
 */
export function renderPostmortem(r: IncidentRecord): string {
  const v = slaVerdict(r);
  const lines = [
    `# Postmortem ${r.id}: ${r.title}`,
    '',
    `- **Severity:** ${r.severity} (${r.severityReason})`,
    `- **Type:** ${r.type}`,
    `- **Services:** ${r.services.length ? r.services.join(', ') : 'none named'}`,
    `- **Owner:** ${r.owner ?? 'nobody acknowledged'}`,
    `- **Opened:** ${r.openedAt} (${r.source}${r.fingerprint ? `, fingerprint ${r.fingerprint}` : ''})`,
    `- **Acknowledged:** ${r.acknowledgedAt ?? 'never'}`,
    `- **Resolved:** ${r.resolvedAt ?? 'not yet'}`,
    `- **Escalation level reached:** ${r.escalationLevel}`,
    '',
    '## SLAs',
    '',
    '| clock | target | actual | verdict |',
    '|---|---|---|---|',
    `| time to acknowledge | ${fmt(r.sla.respondMinutes)} | ${fmt(v.timeToAcknowledgeMinutes)} | ${met(v.respondMet)} |`,
    `| time to resolve | ${fmt(r.sla.resolveMinutes)} | ${fmt(v.timeToResolveMinutes)} | ${met(v.resolveMet)} |`,
    '',
    '## Actions and outcomes',
    '',
  ];
  const acts = actions(r.timeline);
  if (acts.length === 0) lines.push('No automatic action was taken.');
  else {
    lines.push('| time | action | outcome |', '|---|---|---|');
    for (const e of acts) lines.push(`| ${e.at} | ${cell(e.message)} | ${e.outcome ?? 'ok'} |`);
  }
  lines.push('', '## Timeline', '', '| time | event | detail | by |', '|---|---|---|---|');
  for (const e of r.timeline)
    lines.push(`| ${e.at} | ${e.kind}${e.outcome ? ` (${e.outcome})` : ''} | ${cell(e.message)} | ${e.by ?? ''} |`);
  const metrics = Object.entries(r.metrics);
  if (metrics.length) lines.push('', '## Metrics at detection', '', ...metrics.map(([k, val]) => `- ${k}: ${val}`));
  lines.push(
    '',
    '## Root cause',
    '',
    '_To be written in the review._',
    '',
    '## Follow-up actions',
    '',
    '- [ ] _To be agreed in the review._',
    '',
  );
  return lines.join('\n');
}

import type { ReadinessStatus, ItemStatus } from './state';
import { recheckCommand, signOffCommand } from '../../domain/operator-commands';

const mark: Record<ItemStatus['verdict'], string> = {
  passed: '✅ pass',
  signed: '✅ signed',
  waived: '⚠️ waived',
  failed: '❌ FAIL',
  error: '❌ ERROR',
  pending: '⏳ not checked',
  unsigned: '❌ not signed',
};

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Who vouched, or what the check saw: the column that makes a verdict auditable. */
function basis(i: ItemStatus): string {
  const parts: string[] = [];
  if (i.waiver) parts.push(`waived by ${i.waiver.by} until ${i.waiver.until}: ${i.waiver.reason}`);
  if (i.expiredWaiver) parts.push(`waiver by ${i.expiredWaiver.by} EXPIRED at ${i.expiredWaiver.until}`);
  if (i.signOff)
    parts.push(`signed by ${i.signOff.by} at ${i.signOff.at}${i.signOff.note ? `: ${i.signOff.note}` : ''}`);
  if (i.result) {
    parts.push(i.result.message);
    for (const e of i.result.evidence)
      parts.push(`${e.ok ? '✓' : '✗'} ${e.what} of ${e.target}: ${e.value} (needs ${e.threshold}) at ${e.at}`);
  }
  return parts.map(cell).join('<br>') || '—';
}

/** The readiness report (Markdown): the verdict, then every item with its evidence or signer. */
export function renderReadinessReport(status: ReadinessStatus): string {
  const lines = [
    `# Readiness of ${status.service}: ${status.ready ? 'READY' : 'NOT READY'}`,
    '',
    `Checklist \`${status.checklist}\`, ${status.items.length} items, ${status.rounds} round(s) of checks.` +
      (status.blocking.length ? ` Blocking: ${status.blocking.join(', ')}.` : ''),
    '',
    '| Item | Kind | Verdict | Evidence / signer |',
    '|---|---|---|---|',
    ...status.items.map((i) => `| ${i.id} | ${i.check} | ${mark[i.verdict]} | ${basis(i)} |`),
  ];
  if (status.decisions.length) lines.push('', '## Decisions', ...status.decisions.map((d) => `- ${cell(d)}`));
  return lines.join('\n');
}

/** What keeps an open gate shut and the commands that unblock it, in a line: the timer's summary while the gate waits. */
export function readinessWaitSummary(
  status: ReadinessStatus,
  wakeAt: string,
  deadline: boolean,
  workflowId: string,
): string {
  const unsigned = status.items
    .filter((i) => status.blocking.includes(i.id) && i.verdict === 'unsigned')
    .map((i) => `\`${signOffCommand(workflowId, i.id)}\``);
  const failing = status.items.some(
    (i) => status.blocking.includes(i.id) && (i.verdict === 'failed' || i.verdict === 'error'),
  )
    ? [`\`${recheckCommand(workflowId)}\``]
    : [];
  const commands = [...unsigned, ...failing];
  return `NOT READY, blocking: ${status.blocking.join(', ') || 'none'}; waiting for a sign-off, waiver or recheck${commands.length ? ` (${commands.join(', ')})` : ''} — ${deadline ? 'closes NOT READY' : 'a waiver lapses'} at ${wakeAt}`;
}

/**
 * The Web UI's current details: the verdict and, while the gate is open, what each blocking item
 * needs and the command that gives it, then every item's verdict; once closed, the report.
 */
export function renderReadinessDetails(status: ReadinessStatus, workflowId: string): string {
  const open = status.phase === 'checking' || status.phase === 'waiting';
  if (!open) return renderReadinessReport(status);
  const lines = [
    `**${status.ready ? 'READY' : `NOT READY — blocking: ${status.blocking.join(', ') || 'none yet'}`}**${status.deadline ? ` (gate open until ${status.deadline})` : ''}`,
  ];
  const byId = new Map(status.items.map((i) => [i.id, i]));
  const unsigned = status.blocking.filter((id) => byId.get(id)?.verdict === 'unsigned');
  const failing = status.blocking.filter((id) => ['failed', 'error'].includes(byId.get(id)?.verdict ?? ''));
  for (const id of unsigned)
    lines.push(`- ${id}: waits for a person's sign-off — \`${signOffCommand(workflowId, id)}\``);
  if (failing.length)
    lines.push(
      `- ${failing.join(', ')}: failing — fix, then \`${recheckCommand(workflowId)}\` (or waive with a reason and an end)`,
    );
  // Items as a list, not the report's table: the Web UI's details renderer shows a plain list reliably.
  lines.push('', ...status.items.map((i) => `- ${i.id} (${i.check}): ${mark[i.verdict]}`));
  return lines.join('\n');
}

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
export function renderReadinessReport(s: ReadinessStatus): string {
  const lines = [
    `# Readiness of ${s.service}: ${s.ready ? 'READY' : 'NOT READY'}`,
    '',
    `Checklist \`${s.checklist}\`, ${s.items.length} items, ${s.rounds} round(s) of checks.` +
      (s.blocking.length ? ` Blocking: ${s.blocking.join(', ')}.` : ''),
    '',
    '| Item | Kind | Verdict | Evidence / signer |',
    '|---|---|---|---|',
    ...s.items.map((i) => `| ${i.id} | ${i.check} | ${mark[i.verdict]} | ${basis(i)} |`),
  ];
  if (s.decisions.length) lines.push('', '## Decisions', ...s.decisions.map((d) => `- ${cell(d)}`));
  return lines.join('\n');
}

/** What keeps an open gate shut and the commands that unblock it, in a line: the timer's summary while the gate waits. */
export function readinessWaitSummary(
  s: ReadinessStatus,
  wakeAt: string,
  deadline: boolean,
  workflowId: string,
): string {
  const unsigned = s.items
    .filter((i) => s.blocking.includes(i.id) && i.verdict === 'unsigned')
    .map((i) => `\`${signOffCommand(workflowId, i.id)}\``);
  const failing = s.items.some((i) => s.blocking.includes(i.id) && (i.verdict === 'failed' || i.verdict === 'error'))
    ? [`\`${recheckCommand(workflowId)}\``]
    : [];
  const commands = [...unsigned, ...failing];
  return `NOT READY, blocking: ${s.blocking.join(', ') || 'none'}; waiting for a sign-off, waiver or recheck${commands.length ? ` (${commands.join(', ')})` : ''} — ${deadline ? 'closes NOT READY' : 'a waiver lapses'} at ${wakeAt}`;
}

/**
 * The Web UI's current details: the verdict and, while the gate is open, what each blocking item
 * needs and the command that gives it, then every item's verdict; once closed, the report.
 */
export function renderReadinessDetails(s: ReadinessStatus, workflowId: string): string {
  const open = s.phase === 'checking' || s.phase === 'waiting';
  if (!open) return renderReadinessReport(s);
  const lines = [
    `**${s.ready ? 'READY' : `NOT READY — blocking: ${s.blocking.join(', ') || 'none yet'}`}**${s.deadline ? ` (gate open until ${s.deadline})` : ''}`,
  ];
  const byId = new Map(s.items.map((i) => [i.id, i]));
  const unsigned = s.blocking.filter((id) => byId.get(id)?.verdict === 'unsigned');
  const failing = s.blocking.filter((id) => ['failed', 'error'].includes(byId.get(id)?.verdict ?? ''));
  for (const id of unsigned)
    lines.push(`- ${id}: waits for a person's sign-off — \`${signOffCommand(workflowId, id)}\``);
  if (failing.length)
    lines.push(
      `- ${failing.join(', ')}: failing — fix, then \`${recheckCommand(workflowId)}\` (or waive with a reason and an end)`,
    );
  // Items as a list, not the report's table: the Web UI's details renderer shows a plain list reliably.
  lines.push('', ...s.items.map((i) => `- ${i.id} (${i.check}): ${mark[i.verdict]}`));
  return lines.join('\n');
}

import type { ReadinessStatus, ItemStatus } from './state';

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
  if (i.signOff) parts.push(`signed by ${i.signOff.by} at ${i.signOff.at}${i.signOff.note ? `: ${i.signOff.note}` : ''}`);
  if (i.result) {
    parts.push(i.result.message);
    for (const e of i.result.evidence) parts.push(`${e.ok ? '✓' : '✗'} ${e.what} of ${e.target}: ${e.value} (needs ${e.threshold}) at ${e.at}`);
  }
  return parts.map(cell).join('<br>') || '—';
}

/** The readiness report (Markdown): the verdict, then every item with its evidence or signer. */
export function renderReadinessReport(s: ReadinessStatus): string {
  const lines = [
    `# Readiness of ${s.service}: ${s.ready ? 'READY' : 'NOT READY'}`,
    '',
    `Checklist \`${s.checklist}\`, ${s.items.length} items, ${s.rounds} round(s) of checks.` + (s.blocking.length ? ` Blocking: ${s.blocking.join(', ')}.` : ''),
    '',
    '| Item | Kind | Verdict | Evidence / signer |',
    '|---|---|---|---|',
    ...s.items.map((i) => `| ${i.id} | ${i.check} | ${mark[i.verdict]} | ${basis(i)} |`),
  ];
  if (s.decisions.length) lines.push('', '## Decisions', ...s.decisions.map((d) => `- ${cell(d)}`));
  return lines.join('\n');
}

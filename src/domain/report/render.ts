import type { Block } from './view';

/** Markdown of the report's blocks. */
export function renderMarkdown(title: string, blocks: Block[]): string {
  const cell = (v: unknown) => String(v).replace(/\s+/g, ' ').replace(/\|/g, '\\|');
  const out = [`# ${title}`];
  for (const b of blocks) {
    out.push('', `## ${b.title}`, '');
    if (b.missing) {
      out.push(`**Could not be gathered:** ${b.missing}`);
      continue;
    }
    if (b.lines?.length) out.push(...b.lines.map((l) => (l.startsWith('    ') ? l : `${l}  `)));
    if (b.table && b.table.rows.length) {
      if (b.lines?.length) out.push('');
      out.push(
        `| ${b.table.head.join(' | ')} |`,
        `|${b.table.head.map(() => '---').join('|')}|`,
        ...b.table.rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
      );
    }
  }
  return out.join('\n') + '\n';
}

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (v: unknown) => String(v).replace(/[&<>"']/g, (c) => escapes[c]);

/** A tagged template whose interpolations are escaped unless already rendered (`Safe`). */
class Safe {
  constructor(readonly html: string) {}
}
function html(strings: TemplateStringsArray, ...values: unknown[]): Safe {
  const value = (v: unknown): string =>
    v instanceof Safe ? v.html : Array.isArray(v) ? v.map(value).join('') : esc(v);
  return new Safe(strings.reduce((acc, s, i) => acc + s + (i < values.length ? value(values[i]) : ''), ''));
}

const blockHtml = (b: Block) => html`
<section>
  <h2>${b.title}</h2>
  ${b.missing ? html`<p class="missing"><strong>Could not be gathered:</strong> ${b.missing}</p>` : ''}
  ${b.lines?.length ? html`<pre>${b.lines.join('\n')}</pre>` : ''}
  ${b.table?.rows.length ? html`<table><thead><tr>${b.table.head.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${b.table.rows.map((r) => html`<tr>${r.map((c) => html`<td>${c}</td>`)}</tr>`)}</tbody></table>` : ''}
</section>`;

/** The report as an HTML document (email's HTML part); every value escaped. */
export function renderHtml(title: string, blocks: Block[]): string {
  return html`<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}.missing{color:#b00}</style>
</head><body>
<h1>${title}</h1>
${blocks.map(blockHtml)}
</body></html>
`.html;
}

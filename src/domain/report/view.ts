import type { Section } from '../diagnostics/findings';
import type { DailyReportSections } from './sections';
import { copiesText } from '../backup/copy-state';

/** One block of the report, independent of its format: Markdown and HTML both render these. */
export interface Block {
  title: string;
  /** Why the block could not be gathered; then it has nothing else. */
  missing?: string;
  lines?: string[];
  table?: { head: string[]; rows: (string | number)[][] };
}

const size = (bytes: number) =>
  bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GB` : `${(bytes / 2 ** 20).toFixed(1)} MB`;

function block<T>(title: string, s: Section<T>, fill: (f: T) => Omit<Block, 'title'>): Block {
  return s.ok ? { title, ...fill(s.findings) } : { title, missing: s.error };
}

/** The report's blocks in the order runbooks §4 lists them. */
export function reportBlocks(s: DailyReportSections): Block[] {
  return [
    block('Host', s.host, (h) => ({
      lines: [
        `Up ${Math.floor(h.uptimeSeconds / 86400)} d ${Math.floor((h.uptimeSeconds % 86400) / 3600)} h; load ${h.loadAverage}; CPU ${h.cpuPercent}%`,
        `Memory ${h.memory.usedPercent}% used (${h.memory.availableMb} of ${h.memory.totalMb} MB available)`,
      ],
      table: {
        head: ['disk / interface', 'used / received', 'sent'],
        rows: [
          ...h.disks.map((d) => [d.mount, `${d.usedPercent}%`, '']),
          ...h.network.map((n) => [n.iface, size(n.rxBytes), size(n.txBytes)]),
        ],
      },
    })),
    block('Services', s.services, (units) =>
      units.length
        ? { table: { head: ['unit', 'state'], rows: units.map((u) => [u.unit, u.state]) } }
        : { lines: ['No units configured.'] },
    ),
    block('Recent errors', s.errors, (files) =>
      files.length
        ? {
            lines: files.flatMap((f) => [
              `${f.file}: ${f.error ?? `${f.lines.length} matching line${f.lines.length === 1 ? '' : 's'}`}`,
              ...f.lines.map((l) => `    ${l}`),
            ]),
          }
        : { lines: ['No log files or journal configured.'] },
    ),
    ...s.postgres.map((p) =>
      block(`PostgreSQL ${p.target}`, p, (r) => ({
        lines: r.sizes.map((d) => `${d.database}: ${size(d.bytes)}`),
        table: {
          head: ['database', 'state', 'connections'],
          rows: r.connections.map((c) => [c.database, c.state, c.count]),
        },
      })),
    ),
    ...s.redis.map((r) =>
      block(`Redis ${r.target}`, r, (x) => ({
        lines: [`${x.connectedClients} connected clients, ${size(x.usedMemoryBytes)} used`],
      })),
    ),
    ...s.backups.map((b) =>
      block(`Backups ${b.set}`, b, (x) => ({
        lines: [
          x.latestVerified
            ? `Latest verified: ${x.latestVerified} (${x.verifiedAgeHours} h old${x.restoreSeconds !== undefined ? `, restore drill ${x.restoreSeconds} s` : ''})`
            : 'NO verified copy',
          `Latest copy: ${x.latest ?? 'none'}; ${copiesText(x.copies)}, ${size(x.totalBytes)}`,
          ...(x.corrupt ? [`${x.corrupt[0].toUpperCase()}${x.corrupt.slice(1)}: not counted as verified`] : []),
        ],
      })),
    ),
    block('Runs today', s.runs, (r) =>
      r.runs.length
        ? {
            table: {
              head: ['workflow', 'id', 'outcome', 'started'],
              rows: r.runs.map((x) => [x.type, x.workflowId, x.status, x.start]),
            },
            ...(r.more ? { lines: [`… and ${r.more} more`] } : {}),
          }
        : { lines: ['No opsflow runs.'] },
    ),
  ];
}

/** The one-paragraph summary for Slack/webhook: what is wrong first. */
export function reportSummary(date: string, s: DailyReportSections): string {
  const problems: string[] = [];
  const missing = reportBlocks(s)
    .filter((b) => b.missing)
    .map((b) => b.title);
  if (missing.length) problems.push(`not gathered: ${missing.join(', ')}`);
  if (s.services.ok) {
    const down = s.services.findings.filter((u) => u.state !== 'active').map((u) => `${u.unit} ${u.state}`);
    if (down.length) problems.push(`services: ${down.join(', ')}`);
  }
  if (s.errors.ok) {
    const n = s.errors.findings.reduce((k, f) => k + f.lines.length, 0);
    if (n) problems.push(`${n} error line${n === 1 ? '' : 's'} in logs`);
  }
  for (const b of s.backups) {
    if (b.ok && !b.findings.latestVerified) problems.push(`backup ${b.set}: no verified copy`);
    if (b.ok && b.findings.corrupt) problems.push(`backup ${b.set}: ${b.findings.corrupt}`);
  }
  if (s.runs.ok) {
    const failed = s.runs.findings.runs.filter((r) => ['FAILED', 'TIMED_OUT', 'TERMINATED'].includes(r.status));
    problems.push(
      `${s.runs.findings.runs.length + s.runs.findings.more} runs${failed.length ? `, ${failed.length} failed (${failed.map((r) => r.workflowId).join(', ')})` : ''}`,
    );
  }
  return `Daily report ${date}: ${problems.join('; ') || 'nothing to report'}`;
}

import type { DiagnosticsResult, HostFindings, PostgresFindings, Section } from './findings';

/**
 * The diagnostics report in Markdown, from the structured result alone (pure, so the workflow can
 * render it and a test can read it): what someone paged at night reads first.
 */
export function renderDiagnosticsReport(r: Omit<DiagnosticsResult, 'markdown'>): string {
  const out = [`# Diagnostics ${r.collectedAt}`];
  if (r.postgres) out.push('', `## PostgreSQL ${r.postgres.target}`, ...section(r.postgres, postgresLines));
  if (r.host) out.push('', '## Host', ...section(r.host, hostLines));
  return out.join('\n') + '\n';
}

function section<T>(s: Section<T>, lines: (f: T) => string[]): string[] {
  return s.ok ? lines(s.findings) : ['', `**Could not be collected:** ${s.error}`];
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
/** Markdown table cells may not hold pipes or newlines: a query text has both. */
const cell = (v: unknown) =>
  String(v ?? '')
    .replace(/\s+/g, ' ')
    .replace(/\|/g, '\\|');
const secs = (n: number | null) => (n === null ? '' : `${n} s`);

function table(head: string[], rows: unknown[][], empty: string): string[] {
  if (rows.length === 0) return ['', empty];
  return [
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

function postgresLines(p: PostgresFindings): string[] {
  return [
    '',
    `### Slow statements (mean > 100 ms, top 10) in ${p.database}`,
    ...(typeof p.slowStatements === 'string'
      ? ['', p.slowStatements]
      : table(
          ['mean', 'calls', 'query'],
          p.slowStatements.map((s) => [`${s.mean_ms} ms`, s.calls, s.query]),
          'None over 100 ms.',
        )),
    '',
    '### Unused indexes (fewer than 100 scans)',
    ...table(
      ['index', 'table', 'scans', 'size'],
      p.unusedIndexes.map((i) => [i.index, i.table, i.scans, mb(i.bytes)]),
      'None.',
    ),
    '',
    '### Largest tables',
    ...table(
      ['table', 'rows (estimate)', 'table', 'indexes', 'total'],
      p.tables.map((t) => [t.table, t.rows, mb(t.table_bytes), mb(t.index_bytes), mb(t.total_bytes)]),
      'No user tables.',
    ),
    '',
    '### Non-idle sessions',
    ...table(
      ['pid', 'user', 'database', 'state', 'wait', 'session', 'transaction', 'statement', 'query'],
      p.sessions.map((s) => [
        s.pid,
        s.user,
        s.database,
        s.state,
        [s.wait_event_type, s.wait_event].filter(Boolean).join(': '),
        secs(s.session_seconds),
        secs(s.transaction_seconds),
        secs(s.running_seconds),
        s.query,
      ]),
      'None besides this one.',
    ),
  ];
}

function hostLines(h: HostFindings): string[] {
  return [
    '',
    `Up ${Math.floor(h.uptimeSeconds / 3600)} h, CPU ${h.cpuPercent}%, load ${h.loadAverage}, memory ${h.memory.usedPercent}% used (${h.memory.availableMb} of ${h.memory.totalMb} MB available)`,
    ...table(
      ['mount', 'used'],
      h.disks.map((d) => [d.mount, `${d.usedPercent}%`]),
      'No disks.',
    ),
    '',
    '### Top processes (CPU)',
    ...table(
      ['pid', 'name', 'cpu', 'mem', 'command'],
      h.topProcesses.map((p) => [p.pid, p.name, `${p.cpu}%`, `${p.memPercent}%`, p.command]),
      'None.',
    ),
  ];
}

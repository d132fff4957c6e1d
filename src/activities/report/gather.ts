import { execFile } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import si from 'systeminformation';
import type { ClientConfig } from 'pg';
import { withClient } from '../systems/postgres/connect';
import { hostDiagnostics } from '../diagnostics/host';
import type { HostReport, LogErrors, PostgresReport } from '../../domain/report/sections';

/** Host state as the diagnostics see it, plus the network counters since boot. */
export async function hostReport(): Promise<HostReport> {
  const [host, net] = await Promise.all([hostDiagnostics(), si.networkStats('*')]);
  return { ...host, network: net.map((n) => ({ iface: n.iface, rxBytes: n.rx_bytes, txBytes: n.tx_bytes })) };
}

/** Reads at most this much of a log's end: a day's errors are at the end, and logs can be huge. */
const TAIL_BYTES = 4 * 2 ** 20;

/** The last `lines` lines of a log file that match any pattern (case-insensitive). */
export async function logErrors(file: string, patterns: string[], lines: number): Promise<LogErrors> {
  try {
    const size = (await stat(file)).size;
    const start = Math.max(0, size - TAIL_BYTES);
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      const res = patterns.map((p) => new RegExp(p, 'i'));
      const all = buf.toString('utf8').split('\n');
      if (start > 0) all.shift(); // a partial first line
      return {
        file,
        lines: all
          .filter((l) => res.some((r) => r.test(l)))
          .slice(-lines)
          .map((l) => l.slice(0, 300)),
      };
    } finally {
      await fh.close();
    }
  } catch (err) {
    return { file, lines: [], error: (err as Error).message };
  }
}

/** Connections per database and state, and database sizes: runbooks §4's "DB connection counts". */
export async function postgresReport(cfg: ClientConfig): Promise<PostgresReport> {
  return withClient(cfg, async (c) => {
    const conns = await c.query(
      `SELECT coalesce(datname, '(none)') AS database, coalesce(state, backend_type) AS state, count(*)::int AS count
         FROM pg_stat_activity GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    const sizes = await c.query(
      `SELECT datname AS database, pg_database_size(datname)::float8 AS bytes FROM pg_database WHERE NOT datistemplate ORDER BY 2 DESC LIMIT 20`,
    );
    return { connections: conns.rows, sizes: sizes.rows };
  });
}

/**
 * The day's journal entries at a priority or worse (`journalctl -p`), the last `lines` of them, as
 * an argv (no shell); the day's bounds go as epoch seconds (`@…`), which every journalctl reads.
 */
export function journalErrors(
  j: { command: string; priority: string; units: string[] },
  sudo: boolean,
  day: { from: string; to: string },
  lines: number,
): Promise<LogErrors> {
  const epoch = (iso: string) => `@${Math.floor(Date.parse(iso) / 1000)}`;
  const args = [
    '--no-pager',
    '-o',
    'short-iso',
    '-p',
    j.priority,
    '--since',
    epoch(day.from),
    '--until',
    epoch(day.to),
    '-n',
    String(lines),
    ...j.units.flatMap((u) => ['-u', u]),
  ];
  const [cmd, argv] = sudo ? ['sudo', ['-n', j.command, ...args]] : [j.command, args];
  const name = `journal (${j.priority}${j.units.length ? `, ${j.units.join(', ')}` : ''})`;
  return new Promise((resolve) => {
    execFile(cmd, argv, { timeout: 30_000, encoding: 'utf8', maxBuffer: 8 * 2 ** 20 }, (err, stdout, stderr) => {
      if (err)
        resolve({
          file: name,
          lines: [],
          error: `${j.command} failed: ${(stderr || err.message).trim().slice(0, 300)}`,
        });
      else
        resolve({
          file: name,
          lines: stdout
            .split('\n')
            .filter((l) => l && !l.startsWith('-- '))
            .slice(-lines)
            .map((l) => l.slice(0, 300)),
        });
    });
  });
}

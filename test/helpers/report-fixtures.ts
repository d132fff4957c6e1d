import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A stand-in journalctl in `dir` that notes each call and, after `hold` (seconds, or until the file
 * `gate` exists), prints one error line: a worker can be killed while the daily report reads it.
 */
export function journalctlStandIn(dir: string, hold: { seconds: number } | { gate: string }) {
  const path = join(dir, 'journalctl');
  const callsFile = join(dir, 'journalctl.calls');
  const wait = 'gate' in hold ? `while [ ! -e '${hold.gate}' ]; do sleep 0.1; done` : `sleep ${hold.seconds}`;
  writeFileSync(
    path,
    `#!/bin/sh\necho call >> '${callsFile}'\n${wait}\necho '2026-11-24T10:00:00+0100 host web[42]: upstream connect error'\n`,
  );
  chmodSync(path, 0o755);
  /** How many times it was called. */
  const calls = () => (existsSync(callsFile) ? readFileSync(callsFile, 'utf8').trim().split('\n').length : 0);
  return { path, calls };
}

/**
 * The daily report's config: the journal read through `journalctl`, PostgreSQL `target` looked at
 * and the report stored there (in `schema`), mailed to the SMTP server on `smtpPort`.
 */
export function dailyReportConfig(o: { journalctl: string; smtpPort: number; target: string; schema: string }) {
  return {
    notifiers: {
      mail: {
        type: 'email',
        host: '127.0.0.1',
        port: o.smtpPort,
        from: 'opsflow@example.org',
        to: ['ops@example.org'],
      },
    },
    dailyReport: {
      timezone: 'UTC',
      logs: { files: [], journal: { command: o.journalctl, units: ['web'] } },
      postgres: [o.target],
      email: ['mail'],
      store: { postgres: o.target, schema: o.schema, keep: 2 },
    },
  };
}

import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack, writeConfig } from '../helpers/stack';
import { HttpReceiver } from '../helpers/http-receiver';
import { SmtpReceiver, mimeParts } from '../helpers/smtp-receiver';
import { SystemdStandin } from '../helpers/systemd-standin';
import { PgScratch } from '../helpers/pg-scratch';
import { freePort, waitFor } from '../helpers/ports';
import { pgConnection, redisConnection, requirePostgres, requireRedis } from '../helpers/services';
import { recordHistory } from '../helpers/histories';
import { backupWorkflow, dailyReportWorkflow, diagnosticsWorkflow } from '../../src/workflows';
import { statusQuery } from '../../src/workflows/report/messages';
import { dayBounds, dayIn } from '../../src/domain/report/day';

/**
 * runbooks §4's daily report end to end: the dev server and a worker, the machine's PostgreSQL and
 * Redis, a Redis that is not there, the stand-in systemctl with one unit running and one stopped,
 * a log file with errors, a backup set with a verified copy made by a real backup run, a real SMTP
 * receiver and a webhook. The runs section lists workflows really run on the dev server today.
 */
describe('dailyReportWorkflow end to end', () => {
  const scratch = new PgScratch('opsflow_test_report');
  const standin = new SystemdStandin();
  const smtp = new SmtpReceiver();
  const hook = new HttpReceiver();
  const dir = mkdtempSync(join(tmpdir(), 'opsflow-report-'));
  let stack: Stack;
  let configPath: string;
  let schema: string;

  beforeAll(async () => {
    await requirePostgres();
    await requireRedis();
    schema = await scratch.schema();
    const appDb = await scratch.database();
    await scratch.query('CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)', [], appDb);
    const log = join(dir, 'app.log');
    writeFileSync(
      log,
      [
        'INFO started',
        'ERROR payment gateway timeout <script>',
        'INFO ok',
        'FATAL out of memory',
        'debug nothing',
      ].join('\n') + '\n',
    );
    // a stand-in journalctl: records its argv, prints what the real one prints for two entries
    const journalctl = join(dir, 'journalctl');
    writeFileSync(
      journalctl,
      `#!/bin/sh\nprintf '%s\\n' "$@" > '${join(dir, 'journalctl.argv')}'\necho '-- Journal begins at Mon 2026-11-23 --'\necho '2026-11-24T10:00:00+0100 host web[42]: upstream connect error'\necho '2026-11-24T11:00:00+0100 host kernel: Out of memory: Killed process 77'\n`,
    );
    chmodSync(journalctl, 0o755);
    standin.defineHttpService('web', await freePort());
    standin.defineHttpService('worker', await freePort());
    standin.systemctl('start', 'web');
    await smtp.start();
    await hook.start();
    const config = {
      postgres: { primary: pgConnection, app: { ...pgConnection, database: appDb } },
      redis: { cache: redisConnection, gone: { host: '127.0.0.1', port: await freePort(), connectTimeoutMs: 500 } },
      systemd: { systemctl: standin.systemctlPath, units: ['web', 'worker'] },
      notifiers: {
        mail: {
          type: 'email',
          host: '127.0.0.1',
          port: smtp.port,
          from: 'opsflow@example.org',
          to: ['ops@example.org'],
        },
        chat: { type: 'webhook', url: `${hook.url}/hook` },
      },
      backups: { nightly: { databases: ['app'], destination: join(dir, 'backups') } },
      dailyReport: {
        timezone: 'Europe/Berlin',
        logs: {
          files: [log, join(dir, 'missing.log')],
          journal: { command: join(dir, 'journalctl'), units: ['web', 'kernel'] },
        },
        postgres: ['primary'],
        email: ['mail'],
        summary: ['chat'],
        store: { postgres: 'primary', schema, keep: 2 },
      },
      // as in opsflow.example.yaml: the nightly backup and the 23:50 report
      schedules: {
        'e2e-backup-nightly': {
          workflow: 'backupWorkflow',
          cron: ['30 2 * * *'],
          timezone: 'UTC',
          input: { set: 'nightly' },
        },
        'e2e-daily-report': {
          workflow: 'dailyReportWorkflow',
          cron: ['50 23 * * *'],
          timezone: 'Europe/Berlin',
          input: {},
        },
      },
    };
    configPath = writeConfig(config);
    stack = await Stack.start();
    await stack.startWorker(config);
  });

  afterAll(async () => {
    await stack?.stop();
    standin.stopAll();
    await smtp.stop();
    await hook.stop();
    await scratch.drop();
  });

  test('every section, the HTML part, the summary, the runs of the day; kept and shown by `opsflow report show`', async () => {
    await stack.client.workflow.execute(backupWorkflow, {
      taskQueue: 'opsflow',
      workflowId: 'report-e2e-backup',
      args: [{ set: 'nightly' }],
    });
    await stack.client.workflow.execute(diagnosticsWorkflow, {
      taskQueue: 'opsflow',
      workflowId: 'report-e2e-diagnostics',
      args: [{ host: true }],
    });
    await stack.client.workflow
      .execute(diagnosticsWorkflow, {
        taskQueue: 'opsflow',
        workflowId: 'report-e2e-diagnostics-bad',
        args: [{ postgres: 'nope' }],
      })
      .catch(() => undefined);
    const today = dayIn('Europe/Berlin', new Date());

    const handle = await stack.client.workflow.start(dailyReportWorkflow, {
      taskQueue: 'opsflow',
      workflowId: 'daily-report-e2e',
      args: [{}],
    });
    const result = await handle.result();
    expect(result.date).toBe(today);
    expect(result.gathered).toMatchObject({
      host: 'ok',
      services: 'ok',
      errors: 'ok',
      'postgres:primary': 'ok',
      'redis:cache': 'ok',
      'backups:nightly': 'ok',
      runs: 'ok',
    });
    expect(result.gathered['redis:gone']).toMatch(
      /^redis gone at 127\.0\.0\.1:\d+: redis\.gone: connect ECONNREFUSED 127\.0\.0\.1:\d+$/,
    );
    expect(result.stored).toBe(true);
    expect(result.sent.sort()).toEqual(['chat', 'mail']);

    expect(smtp.messages).toHaveLength(1);
    const parts = mimeParts(smtp.messages[0]);
    const htmlPart = parts.find((p) => p.contentType === 'text/html')!;
    const text = parts.find((p) => p.contentType === 'text/plain')!.text;
    expect(htmlPart).toBeDefined();
    for (const section of [
      'Host',
      'Services',
      'Recent errors',
      'PostgreSQL primary',
      'Redis cache',
      'Redis gone',
      'Backups nightly',
      'Runs today',
    ]) {
      expect(text).toContain(`## ${section}`);
      expect(htmlPart.text).toContain(`<h2>${section}</h2>`);
    }
    expect(text).toMatch(/\| web \| active \|\n\| worker \| inactive \|/);
    expect(text).toContain('    ERROR payment gateway timeout <script>');
    expect(text).toContain('    FATAL out of memory');
    expect(htmlPart.text).toContain('ERROR payment gateway timeout &lt;script&gt;');
    expect(text).toMatch(/missing\.log: ENOENT/);
    expect(text).toContain(
      'journal (err, web, kernel): 2 matching lines  \n    2026-11-24T10:00:00+0100 host web[42]: upstream connect error\n    2026-11-24T11:00:00+0100 host kernel: Out of memory: Killed process 77',
    );
    const { from, to } = dayBounds('Europe/Berlin', today);
    expect(readFileSync(join(dir, 'journalctl.argv'), 'utf8').trim().split('\n')).toEqual([
      '--no-pager',
      '-o',
      'short-iso',
      '-p',
      'err',
      '--since',
      `@${Date.parse(from) / 1000}`,
      '--until',
      `@${Date.parse(to) / 1000}`,
      '-n',
      '20',
      '-u',
      'web',
      '-u',
      'kernel',
    ]);
    expect(text).toMatch(
      /## Redis gone\n\n\*\*Could not be gathered:\*\* redis gone at 127\.0\.0\.1:\d+: redis\.gone: connect ECONNREFUSED 127\.0\.0\.1:\d+/,
    );
    expect(text).toMatch(/Latest verified: \d{8}T\d{6}Z \(0(\.\d)? h old, restore drill [\d.]+ s\)/);
    expect(text).toMatch(/\| test \| (active|idle) \| \d+ \|/);
    expect(text).toMatch(/\| backupWorkflow \| report-e2e-backup \| COMPLETED \|/);
    expect(text).toMatch(/\| diagnosticsWorkflow \| report-e2e-diagnostics \| COMPLETED \|/);
    expect(text).toMatch(/\| diagnosticsWorkflow \| report-e2e-diagnostics-bad \| FAILED \|/);

    expect(hook.requests).toHaveLength(1);
    expect(hook.requests[0].json.text).toBe(
      `Daily report ${today}: not gathered: Redis gone; services: worker inactive; 4 error lines in logs; 3 runs, 1 failed (report-e2e-diagnostics-bad)`,
    );

    const shown = await stack.cli(['--config', configPath, 'report', 'show', today]);
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toBe(text.replace(/\n\n-- \nopsflow · .*\n$/, ''));
    expect(await handle.query(statusQuery)).toMatchObject({ phase: 'done', stored: true });
    recordHistory(stack.temporalAddress(), 'daily-report-e2e', 'daily-report-every-section');
  });

  test('`opsflow report show` of a day with no report says so (exit 2); only the newest `keep` days are kept', async () => {
    const none = await stack.cli(['--config', configPath, 'report', 'show', '2020-01-01']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no daily report of 2020-01-01 is kept');
    for (const date of ['2026-01-01', '2026-01-02'])
      await stack.client.workflow.execute(dailyReportWorkflow, {
        taskQueue: 'opsflow',
        workflowId: `daily-report-${date}`,
        args: [{ date }],
      });
    const kept = await scratch.query<{ d: string }>(
      `SELECT to_char(report_date, 'YYYY-MM-DD') AS d FROM ${schema}.opsflow_daily_reports ORDER BY 1`,
    );
    // today's report (the first test) and 2026-01-02 are the newest two; 2026-01-01 was pruned
    expect(kept.map((r) => r.d)).toEqual(['2026-01-02', dayIn('Europe/Berlin', new Date())]);
  });

  test('`opsflow schedules apply` creates the nightly backup and the 23:50 report; triggered, both runs complete', async () => {
    const env = { OPSFLOW_CONFIG: configPath };
    const applied = await stack.cli(['schedules', 'apply'], env);
    expect(applied.stdout).toContain('created [e2e-backup-nightly, e2e-daily-report]');
    const report = await stack.client.schedule.getHandle('e2e-daily-report').describe();
    expect(report.spec.timezone).toBe('Europe/Berlin');
    expect(report.spec.calendars![0]).toMatchObject({
      hour: [{ start: 23, end: 23, step: 1 }],
      minute: [{ start: 50, end: 50, step: 1 }],
    });
    const mailsBefore = smtp.messages.length;
    for (const name of ['e2e-backup-nightly', 'e2e-daily-report']) {
      expect((await stack.cli(['schedules', 'trigger', name], env)).code).toBe(0);
      const workflowId = await waitFor(
        `the run ${name} started`,
        async () => {
          const action = (await stack.client.schedule.getHandle(name).describe()).info.recentActions.at(-1)?.action;
          return action?.type === 'startWorkflow' ? action.workflow.workflowId : undefined;
        },
        30_000,
        250,
      );
      const result = await stack.client.workflow.getHandle(workflowId).result();
      if (name === 'e2e-backup-nightly')
        expect(result).toMatchObject({ set: 'nightly', drill: 'passed', failures: [] });
      else
        expect(result).toMatchObject({
          date: dayIn('Europe/Berlin', new Date()),
          stored: true,
          sent: expect.arrayContaining(['mail', 'chat']),
        });
    }
    expect(smtp.messages.length).toBe(mailsBefore + 1);
  });
});

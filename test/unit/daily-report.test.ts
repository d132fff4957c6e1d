import { dayBounds, dayIn } from '../../src/domain/report/day';
import { reportBlocks, reportSummary } from '../../src/domain/report/view';
import { renderHtml, renderMarkdown } from '../../src/domain/report/render';
import type { DailyReportSections } from '../../src/domain/report/sections';
import { DailyReportState } from '../../src/workflows/report/state';
import { parseConfigText } from '../../src/config/load';

describe('report days in a time zone', () => {
  test('a day is its zone midnight to midnight, also across a DST change', () => {
    expect(dayBounds('UTC', '2026-11-24')).toEqual({
      from: '2026-11-24T00:00:00.000Z',
      to: '2026-11-25T00:00:00.000Z',
    });
    expect(dayBounds('Europe/Berlin', '2026-11-24')).toEqual({
      from: '2026-11-23T23:00:00.000Z',
      to: '2026-11-24T23:00:00.000Z',
    });
    // 2026-03-29: Berlin goes from +01:00 to +02:00, a 23-hour day
    expect(dayBounds('Europe/Berlin', '2026-03-29')).toEqual({
      from: '2026-03-28T23:00:00.000Z',
      to: '2026-03-29T22:00:00.000Z',
    });
    expect(dayBounds('America/New_York', '2026-11-01')).toEqual({
      from: '2026-11-01T04:00:00.000Z',
      to: '2026-11-02T05:00:00.000Z',
    });
  });

  test('23:50 in Berlin is still that day; 23:30 UTC is already the next one there', () => {
    expect(dayIn('Europe/Berlin', new Date('2026-11-24T22:50:00Z'))).toBe('2026-11-24');
    expect(dayIn('Europe/Berlin', new Date('2026-11-24T23:30:00Z'))).toBe('2026-11-25');
  });
});

const sections: DailyReportSections = {
  host: { ok: false, error: 'systeminformation failed' },
  services: {
    ok: true,
    findings: [
      { unit: 'nginx', state: 'active' },
      { unit: 'app', state: 'failed' },
    ],
  },
  errors: { ok: true, findings: [{ file: '/var/log/app.log', lines: ['ERROR <b>x</b> | y'] }] },
  postgres: [
    {
      target: 'db',
      ok: true,
      findings: {
        connections: [{ database: 'app', state: 'active', count: 3 }],
        sizes: [{ database: 'app', bytes: 2 ** 30 }],
      },
    },
  ],
  redis: [],
  backups: [{ set: 'nightly', ok: true, findings: { copies: 1, latest: '20261124T023000Z', totalBytes: 0 } }],
  runs: {
    ok: true,
    findings: {
      runs: [{ type: 'backupWorkflow', workflowId: 'backup-nightly', status: 'FAILED', start: 't' }],
      more: 2,
    },
  },
};

describe('daily report rendering', () => {
  const blocks = reportBlocks(sections);

  test('a part not gathered says why in both formats; values are escaped in HTML and in Markdown tables', () => {
    const md = renderMarkdown('R', blocks);
    const html = renderHtml('R', blocks);
    expect(md).toContain('## Host\n\n**Could not be gathered:** systeminformation failed');
    expect(html).toContain(
      '<h2>Host</h2>\n  <p class="missing"><strong>Could not be gathered:</strong> systeminformation failed</p>',
    );
    expect(html).toContain('ERROR &lt;b&gt;x&lt;/b&gt; | y');
    expect(html).not.toContain('<b>x</b>');
    expect(md).toContain('| app | active | 3 |');
    expect(md).toContain('NO verified copy');
    expect(md).toContain('Latest copy: 20261124T023000Z; 1 copy, 0.0 MB');
    expect(md).toContain('… and 2 more');
  });

  test('a copy corrupt since its verification is named in the backups block and in the summary', () => {
    const corrupt = 'corrupt since verified: 20261123T023000Z (db-app.dump)';
    const s: DailyReportSections = {
      ...sections,
      backups: [
        {
          set: 'nightly',
          ok: true,
          findings: {
            copies: 2,
            latest: '20261124T023000Z',
            latestVerified: '20261124T023000Z',
            verifiedAgeHours: 3,
            totalBytes: 0,
            corrupt,
          },
        },
      ],
    };
    expect(renderMarkdown('R', reportBlocks(s))).toContain(
      'Latest copy: 20261124T023000Z; 2 copies, 0.0 MB  \nCorrupt since verified: 20261123T023000Z (db-app.dump): not counted as verified',
    );
    expect(reportSummary('2026-11-24', s)).toContain(`backup nightly: ${corrupt};`);
  });

  test('the summary puts what is wrong first', () => {
    expect(reportSummary('2026-11-24', sections)).toBe(
      'Daily report 2026-11-24: not gathered: Host; services: app failed; 1 error line in logs; backup nightly: no verified copy; 3 runs, 1 failed (backup-nightly)',
    );
  });

  test('run state: parts recorded as they arrive; a store failure is kept, the run still finishes', () => {
    const s = new DailyReportState();
    s.planned({ date: '2026-11-24' } as never);
    s.gathered('host', { ok: false, error: 'boom' });
    s.gathered('runs', { ok: true, findings: {} });
    s.rendered('sum');
    s.stored(false, 'permission denied for schema opsflow');
    s.sent('mail');
    expect(s.finish()).toEqual({
      date: '2026-11-24',
      summary: 'sum',
      gathered: { host: 'boom', runs: 'ok' },
      stored: false,
      sent: ['mail'],
    });
    expect(s.status.storeError).toBe('permission denied for schema opsflow');
  });

  test('config: unknown names and an unknown time zone are refused naming the field', () => {
    expect(() =>
      parseConfigText(
        JSON.stringify({ dailyReport: { timezone: 'Mars/Olympus', email: ['nobody'], backups: ['weekly'] } }),
        'c.json',
      ),
    ).toThrow(
      /dailyReport\.backups\.0: unknown backup set "weekly"[\s\S]*dailyReport\.email\.0: unknown notifier "nobody"[\s\S]*dailyReport\.timezone: unknown time zone "Mars\/Olympus"/,
    );
  });
});

import { planRetention, type CopyInfo } from '../../src/domain/backup/retention';
import { compareTables, copyStamp } from '../../src/domain/backup/manifest';
import { join } from 'node:path';
import { parseConfigText, readConfigFile } from '../../src/config/load';
import { scheduleOptions } from '../../src/client/schedules';
import { BackupState } from '../../src/workflows/backup/state';
import { backupFailureText, backupSuccessText } from '../../src/domain/backup/report';
import { copyTime, rateBackupAge } from '../../src/domain/backup/age';
import type { ArtifactState, CopyState } from '../../src/domain/backup/copy-state';
import { backupEvidence } from '../../src/domain/readiness/backup';

const DAY = 86_400_000;
const now = Date.parse('2026-11-24T00:00:00Z');
const copy = (name: string, ageDays: number, verified: boolean): CopyInfo => ({
  name,
  takenAtMs: now - ageDays * DAY,
  bytes: 100,
  verified,
});

describe('backup retention rules', () => {
  test('expired copies go; the newest verified ones stay whatever their age', () => {
    const copies = [
      copy('20260901T000000Z', 84, true),
      copy('20261001T000000Z', 54, true),
      copy('20261002T000000Z', 53, false),
      copy('20261123T000000Z', 1, false),
    ];
    const plan = planRetention(copies, now, 30, 2);
    expect(plan.delete.map((c) => c.name)).toEqual(['20261002T000000Z']);
    expect(plan.keep.map((c) => c.name)).toEqual(['20261123T000000Z', '20261001T000000Z', '20260901T000000Z']);
    expect(plan.keptExpired).toEqual([
      '20261001T000000Z: older than 30 days, kept as one of the last 2 verified copies',
      '20260901T000000Z: older than 30 days, kept as one of the last 2 verified copies',
    ]);
  });

  test('a young unverified copy (a failed drill) never makes the last verified copy expire', () => {
    const plan = planRetention([copy('20260101T000000Z', 300, true), copy('20261124T000000Z', 0, false)], now, 30, 1);
    expect(plan.delete).toEqual([]);
  });

  test('with enough verified copies, older verified ones expire too; the copy being written never does', () => {
    const plan = planRetention(
      [copy('20260101T000000Z', 300, true), copy('20260201T000000Z', 290, true), copy('20261124T000000Z', 40, true)],
      now,
      30,
      1,
      '20261124T000000Z',
    );
    expect(plan.delete.map((c) => c.name)).toEqual(['20260201T000000Z', '20260101T000000Z']);
  });
});

describe('drill comparison', () => {
  test('every difference is named: missing, extra, count, checksum', () => {
    const dumped = {
      'public.a': { rows: 3, checksum: '10' },
      'public.b': { rows: 1, checksum: '5' },
      'public.c': { rows: 2, checksum: '7' },
    };
    const restored = {
      'public.a': { rows: 2, checksum: '9' },
      'public.c': { rows: 2, checksum: '8' },
      'public.d': { rows: 0, checksum: '0' },
    };
    expect(compareTables(dumped, restored)).toEqual([
      'public.a: 2 rows restored, 3 dumped',
      'public.b: missing from the restore',
      'public.c: checksum differs (8 restored, 7 dumped)',
      'public.d: in the restore but not in the manifest',
    ]);
    expect(compareTables(dumped, dumped)).toEqual([]);
  });

  test('copy folders are named by the run start, sortable', () => {
    expect(copyStamp(new Date('2026-11-24T03:15:07.123Z'))).toBe('20261124T031507Z');
  });
});

describe('backup config', () => {
  const base = {
    postgres: { app: { database: 'app' } },
    notifiers: { ops: { type: 'webhook', url: 'http://127.0.0.1:1/' } },
  };
  test('a set naming an unknown database or notifier, or a relative destination, is refused naming the field', () => {
    const bad = {
      ...base,
      backups: { nightly: { databases: ['app', 'ap'], destination: 'backups', notify: ['opz'] } },
    };
    const err = (() => {
      try {
        parseConfigText(JSON.stringify(bad), 'c.json');
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(err).toContain('backups.nightly.destination: an absolute path (the backup destination)');
    const refs = {
      ...base,
      backups: { nightly: { databases: ['app', 'ap'], destination: '/var/backups', notify: ['opz'] } },
    };
    expect(() => parseConfigText(JSON.stringify(refs), 'c.json')).toThrow(
      /backups\.nightly\.databases\.1: unknown postgres target "ap"[\s\S]*backups\.nightly\.notify\.0: unknown notifier "opz"/,
    );
    expect(() =>
      parseConfigText(JSON.stringify({ ...base, backups: { empty: { destination: '/b' } } }), 'c.json'),
    ).toThrow('backups.empty.databases: a backup set with nothing to back up: give databases, appTree or configFiles');
  });

  test('defaults: custom format, 30 days, two verified copies kept, caches left out of the app tree', () => {
    const cfg = parseConfigText(
      JSON.stringify({
        ...base,
        backups: { nightly: { databases: ['app'], destination: '/b', appTree: { path: '/srv/app' } } },
      }),
      'c.json',
    );
    expect(cfg.backups.nightly).toMatchObject({
      format: 'custom',
      retentionDays: 30,
      minVerifiedCopies: 2,
      appTree: { exclude: expect.arrayContaining(['node_modules', '.cache']) },
    });
  });
});

describe('backup run state and reports', () => {
  const manifest = {
    kind: 'postgres' as const,
    file: 'db-app.dump',
    bytes: 3 * 2 ** 20,
    sha256: 'ab'.repeat(32),
    startedAt: 't',
    durationMs: 1500,
    database: {
      target: 'app',
      name: 'app',
      format: 'custom' as const,
      snapshot: 's',
      tables: { 'public.t': { rows: 5, checksum: '1' } },
    },
  };

  test('a failing step is collected, the others go on, and the failure report lists it first', () => {
    const s = new BackupState('nightly', '20261124T000000Z', true);
    s.artifact(manifest);
    expect(s.status.drill).toBe('pending');
    s.stepFailed('drilling', 'restore drill app', 'sha256 x differs');
    s.retained({ deleted: [], keptExpired: [], copies: 2, verifiedCopies: 1, totalBytes: 6 * 2 ** 20 });
    s.finish();
    expect(s.status).toMatchObject({
      phase: 'failed',
      drill: 'failed',
      failures: ['restore drill app: sha256 x differs'],
    });
    expect(backupFailureText(s.result()).split('\n').slice(0, 2)).toEqual([
      'Backup nightly 20261124T000000Z FAILED:',
      '- restore drill app: sha256 x differs',
    ]);
  });

  test('a drill that passed on a copy missing an artifact is incomplete, not passed', () => {
    const s = new BackupState('nightly', 'c', true);
    s.stepFailed('backing-up', 'config files', 'tar exited 2');
    s.artifact(manifest);
    s.drilled({
      database: 'app',
      file: 'db-app.dump',
      sha256: manifest.sha256,
      bytes: 1,
      tables: 1,
      rows: 5,
      restoreSeconds: 1,
      verifiedAt: 't',
    });
    s.finish();
    expect(s.status).toMatchObject({ phase: 'failed', drill: 'incomplete' });
    const skipped = new BackupState('nightly', 'c', false);
    skipped.finish();
    expect(skipped.status).toMatchObject({ phase: 'done', drill: 'skipped' });
  });

  test('the success report gives sizes, durations, the drill and its restore time, retention', () => {
    const s = new BackupState('nightly', '20261124T000000Z', true);
    s.artifact(manifest);
    s.drilled({
      database: 'app',
      file: 'db-app.dump',
      sha256: manifest.sha256,
      bytes: manifest.bytes,
      tables: 1,
      rows: 5,
      restoreSeconds: 2.5,
      verifiedAt: 't',
    });
    s.retained({
      deleted: ['20261001T000000Z'],
      keptExpired: [],
      copies: 2,
      verifiedCopies: 2,
      totalBytes: 6 * 2 ** 20,
    });
    s.finish();
    expect(s.status.phase).toBe('done');
    expect(backupSuccessText(s.result())).toBe(
      [
        'Backup nightly 20261124T000000Z in ',
        '- app (1 tables): db-app.dump 3.0 MB in 1.5 s, sha256 abababababab…',
        '- restore drill app: 1 tables, 5 rows match; restored in 2.5 s (RTO)',
        '- retention: deleted 20261001T000000Z; 2 copies (2 verified), 6.0 MB in total',
      ].join('\n'),
    );
  });

  test('a failed run whose copy held nothing says it was removed; one copy is "1 copy"; a corrupt copy is named', () => {
    const s = new BackupState('nightly', '20261124T000000Z', true);
    s.stepFailed('backing-up', 'database app', 'pg_dump of app: boom');
    s.retained({
      deleted: [],
      keptExpired: [],
      copies: 1,
      verifiedCopies: 0,
      totalBytes: 0,
      removedUnfinished: ['20261124T000000Z'],
      corrupt: 'corrupt since verified: 20261120T000000Z (db-app.dump)',
    });
    s.finish();
    expect(backupFailureText(s.result())).toContain(
      [
        '- retention: nothing deleted; 1 copy (0 verified), 0.0 MB in total',
        '  - 20261124T000000Z: removed, no finished artifact in it',
        '  - corrupt since verified: 20261120T000000Z (db-app.dump): not counted as verified',
      ].join('\n'),
    );
  });
});

describe('the example config', () => {
  test('holds a backup set and its nightly schedule, whose input names that set, and the 23:50 report', () => {
    const cfg = readConfigFile(join(__dirname, '../../opsflow.example.yaml'));
    expect(cfg.backups.nightly).toMatchObject({ databases: ['primary'], retentionDays: 30, minVerifiedCopies: 2 });
    expect(scheduleOptions('backup-nightly', cfg.schedules!['backup-nightly'], cfg).action).toMatchObject({
      workflowType: 'backupWorkflow',
      args: [{ set: 'nightly', drill: true }],
    });
    expect(cfg.schedules!['daily-report']).toMatchObject({
      workflow: 'dailyReportWorkflow',
      cron: ['50 23 * * *'],
      timezone: cfg.dailyReport.timezone,
    });
  });
});

describe('readiness backup item: the evidence of a set', () => {
  const at = '2026-11-24T12:00:00.000Z';
  const noon = Date.parse(at);
  const state = (name: string, artifacts: ArtifactState[]): CopyState => ({
    name,
    path: `/b/${name}`,
    takenAtMs: copyTime(name),
    bytes: 1,
    verified: artifacts.length > 0 && artifacts.every((a) => a.state === 'verified'),
    artifacts,
  });
  const tarOnly = state('20261124T000000Z', [
    { file: 'config.tar.gz', state: 'verified', how: 'tar listing', verifiedAt: '2026-11-24T00:01:00Z' },
  ]);

  test('the age limit is strict, to the second; a tar-only copy is proved by its listing', () => {
    const young = backupEvidence(
      's',
      { destination: '/b', copies: 1, totalBytes: 1, corrupt: [], newest: tarOnly, newestVerified: tarOnly },
      noon - 1_000,
      12,
      at,
    );
    expect(young.map((e) => e.ok)).toEqual([true, true]);
    expect(young[1].value).toBe('config.tar.gz: tar listing passed 2026-11-24T00:01:00Z');
    const exactly = backupEvidence(
      's',
      { destination: '/b', copies: 1, totalBytes: 1, corrupt: [], newest: tarOnly, newestVerified: tarOnly },
      noon,
      12,
      at,
    );
    expect(exactly[0]).toMatchObject({
      value: '20261124T000000Z is 12 h old',
      threshold: '< 12 h old',
      target: '/b/20261124T000000Z',
      ok: false,
    });
  });

  test('a copy corrupt since verified is named: as the newest copy, and among the older ones', () => {
    const corrupt = state('20261124T060000Z', [
      { file: 'db-app.dump', state: 'corrupt', verifiedAt: '2026-11-24T06:05:00Z', sha256: 'ab'.repeat(32) },
    ]);
    const older = state('20261123T000000Z', [
      { file: 'config.tar.gz', state: 'verified', how: 'tar listing', verifiedAt: 't' },
      { file: 'db-app.dump', state: 'corrupt', verifiedAt: 't', sha256: 'cd'.repeat(32) },
    ]);
    expect(corrupt.verified).toBe(false);
    const e = backupEvidence(
      's',
      {
        destination: '/b',
        copies: 3,
        totalBytes: 3,
        corrupt: [older, corrupt],
        newest: corrupt,
        newestVerified: tarOnly,
      },
      noon,
      24,
      at,
    )[0];
    expect(e).toMatchObject({ ok: true });
    expect(e.value).toBe(
      '20261124T000000Z is 12 h old; newest copy 20261124T060000Z has db-app.dump corrupt since verified (verified 2026-11-24T06:05:00Z; its sha256 no longer matches its manifest); corrupt since verified: 20261123T000000Z (db-app.dump)',
    );
  });

  test('the health check names corrupt copies and is at least a warning while one is kept', () => {
    const limits = { warning: 26, critical: 50 };
    const corrupt = 'corrupt since verified: 20261123T000000Z (db-app.dump)';
    expect(rateBackupAge('s', '20261124T000000Z', noon, limits, corrupt)).toMatchObject({
      status: 'warning',
      message: `latest verified backup 20261124T000000Z is 12 h old (warning past 26 h, critical past 50 h); ${corrupt}`,
    });
    expect(rateBackupAge('s', '20261124T000000Z', noon, limits).status).toBe('healthy');
    expect(rateBackupAge('s', undefined, noon, limits, corrupt)).toMatchObject({
      status: 'critical',
      message: `no verified backup of set s; ${corrupt}`,
    });
  });

  test('a newer copy says why it does not count: deleted after its drill, or never verified', () => {
    const changed = state('20261124T060000Z', [{ file: 'db-app.dump', state: 'changed' }]);
    const pending = state('20261124T060000Z', [{ file: 'db-app.dump', state: 'unverified' }]);
    expect(
      backupEvidence(
        's',
        { destination: '/b', copies: 2, totalBytes: 2, corrupt: [], newest: changed, newestVerified: tarOnly },
        noon,
        24,
        at,
      )[0].value,
    ).toBe(
      '20261124T000000Z is 12 h old; newest copy 20261124T060000Z has db-app.dump deleted or changed after it was verified',
    );
    expect(
      backupEvidence(
        's',
        { destination: '/b', copies: 1, totalBytes: 1, corrupt: [], newest: pending },
        noon,
        24,
        at,
      )[0],
    ).toMatchObject({
      value:
        'no verified copy at all (1 copy, none verified); newest copy 20261124T060000Z has no verification of db-app.dump (drill off, or the run still going)',
      target: 'backup set s',
      ok: false,
    });
  });
});

import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/load';
import { backupActivities } from '../../src/activities/backup';
import { readinessActivities } from '../../src/activities/readiness';
import { copyStamp } from '../../src/domain/backup/manifest';
import type { CheckResult } from '../../src/domain/readiness/evidence';
import { runActivity } from '../helpers/activity';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, requirePostgres } from '../helpers/services';

const HOUR = 3_600_000;

/**
 * The readiness item `backup` against copies the real backup activities wrote: pg_dump of a
 * database on the machine's PostgreSQL, then the restore drill into a scratch database. The item
 * reads the set's destination with the same reader as the health check's backup age.
 */
describe('readiness backup item against real backups and restore drills', () => {
  const scratch = new PgScratch('opsflow_test_ready_backup');
  const root = mkdtempSync(join(tmpdir(), 'opsflow-readiness-backup-'));
  const dest = (set: string) => join(root, set);
  let backup: ReturnType<typeof backupActivities>;
  let readiness: ReturnType<typeof readinessActivities>;

  beforeAll(async () => {
    await requirePostgres();
    const db = await scratch.database();
    await scratch.query(`CREATE TABLE orders (id int PRIMARY KEY, total numeric(10,2))`, [], db);
    await scratch.query(`INSERT INTO orders SELECT g, g / 3.0 FROM generate_series(1, 100) g`, [], db);
    // A target name of its own keeps this test's drill databases apart from other tests' drills.
    const set = (name: string) => ({ databases: ['ready_app'], destination: dest(name) });
    const item = (set: string) => ({ id: `backup-${set}`, check: 'backup', set });
    const config = parseConfigText(
      JSON.stringify({
        postgres: { ready_app: { ...pgConnection, database: db } },
        backups: { fresh: set('fresh'), stale: set('stale'), failing: set('failing') },
        readiness: { checklists: { ops: { items: [item('fresh'), item('stale'), item('failing')] } } },
      }),
      'readiness-backup-test.json',
    );
    backup = backupActivities(config);
    readiness = readinessActivities(config);
  }, 60_000);

  afterAll(async () => {
    await scratch.drop();
    rmSync(root, { recursive: true, force: true });
  }, 60_000);

  /** One backup run's activities on a copy taken `hoursAgo`: the dump, then its drill (which fails if `corrupt` changes the dump's bytes first). */
  async function backupCopy(set: string, hoursAgo: number, corrupt = false): Promise<string> {
    const copy = copyStamp(new Date(Date.now() - hoursAgo * HOUR));
    await runActivity(backup.planBackup, { set, copy });
    const manifest = await runActivity(backup.backupDatabase, { set, copy, target: 'ready_app' });
    if (corrupt) {
      const fd = openSync(join(dest(set), copy, manifest.file), 'r+');
      writeSync(fd, Buffer.from('XXXX'), 0, 4, Math.floor(manifest.bytes / 2));
      closeSync(fd);
      await expect(runActivity(backup.drillDatabase, { set, copy, manifest })).rejects.toThrow(
        /sha256 [0-9a-f]{64} differs from the manifest's/,
      );
    } else {
      const drill = await runActivity(backup.drillDatabase, { set, copy, manifest });
      expect(drill).toMatchObject({ database: 'ready_app', tables: 1, rows: 100 });
    }
    return copy;
  }
  const check = (set: string) =>
    runActivity(readiness.readinessBackup, { checklist: 'ops', item: `backup-${set}`, runKey: 'test/run/1' });
  const fact = (r: CheckResult, what: string) => r.evidence.find((e) => e.what === what)!;

  test('none verified fails; a fresh copy whose drill passed passes with its path, age and drill; the health check reads the same copy', async () => {
    const none = await check('fresh');
    expect(none.outcome).toBe('fail');
    expect(none.message).toBe(
      `newest verified copy: no verified copy at all (no copy in ${dest('fresh')}) (needs restore drill passed, < 24 h old)`,
    );

    const copy = await backupCopy('fresh', 2);
    const r = await check('fresh');
    expect(r.outcome).toBe('pass');
    expect(fact(r, 'newest verified copy')).toMatchObject({
      target: join(dest('fresh'), copy),
      threshold: '< 24 h old',
      ok: true,
    });
    expect(fact(r, 'newest verified copy').value).toMatch(new RegExp(`^${copy} is 2(\\.0)? h old$`));
    expect(fact(r, 'verification').value).toMatch(
      /^db-ready_app\.dump: restore drill passed \d{4}-\d\d-\d\dT[\d:.]+Z \(restored in [\d.]+ s, 1 tables, 100 rows\)$/,
    );
    expect((await runActivity(backup.checkBackupAge, 'fresh')).message).toContain(
      `latest verified backup ${copy} is 2`,
    );

    // A newer copy whose drill failed does not un-pass a fresh verified one, but the evidence names it.
    const failed = await backupCopy('fresh', 0, true);
    const still = await check('fresh');
    expect(still.outcome).toBe('pass');
    expect(fact(still, 'newest verified copy').value).toMatch(
      new RegExp(
        `^${copy} is 2(\\.0)? h old; newest copy ${failed} failed its restore drill of db-ready_app\\.dump at \\S+: db-ready_app\\.dump: sha256`,
      ),
    );
  }, 120_000);

  test('the newest verified copy older than maxAgeHours fails with its age', async () => {
    const copy = await backupCopy('stale', 30);
    const r = await check('stale');
    expect(r.outcome).toBe('fail');
    expect(fact(r, 'newest verified copy')).toMatchObject({ target: join(dest('stale'), copy), ok: false });
    expect(r.message).toMatch(new RegExp(`^newest verified copy: ${copy} is 30(\\.0)? h old \\(needs < 24 h old\\)$`));
    expect(fact(r, 'verification').ok).toBe(true);
  }, 120_000);

  test('a failed drill is named: alone, no verified copy at all; with an old verified copy, its age and the newer failure', async () => {
    const failed = await backupCopy('failing', 1, true);
    expect(existsSync(join(dest('failing'), failed, 'db-ready_app.dump.verified.json'))).toBe(false);
    const r = await check('failing');
    expect(r.outcome).toBe('fail');
    expect(r.message).toMatch(
      new RegExp(
        `^newest verified copy: no verified copy at all \\(1 copy, none verified\\); newest copy ${failed} failed its restore drill of db-ready_app\\.dump at \\S+: db-ready_app\\.dump: sha256 [0-9a-f]{64} differs from the manifest's`,
      ),
    );

    const old = await backupCopy('failing', 50);
    const both = await check('failing');
    expect(both.outcome).toBe('fail');
    expect(both.message).toMatch(
      new RegExp(`^newest verified copy: ${old} is 50(\\.0)? h old; newest copy ${failed} failed its restore drill`),
    );
  }, 120_000);
});

import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/load';
import { backupActivities } from '../../src/activities/backup';
import { filesHashed, hashCacheFile } from '../../src/activities/backup/copies';
import { readinessActivities } from '../../src/activities/readiness';
import { dailyReportActivities } from '../../src/activities/report';
import { copyStamp, type ArtifactManifest } from '../../src/domain/backup/manifest';
import { runActivity } from '../helpers/activity';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, requirePostgres } from '../helpers/services';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Changes one byte in the middle of a file in place: same size, other bytes (what a bad disk or a stray write does). */
function flipByte(path: string, at: number): void {
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, at);
  writeSync(fd, Buffer.from([b[0] ^ 0xff]), 0, 1, at);
  closeSync(fd);
}

/**
 * The shared reader of backup copies (retention, the health check's backup age, readiness, the
 * daily report) against copies the real backup activities wrote: pg_dump of a database on the
 * machine's PostgreSQL, the restore drill into a scratch database, then the files changed on disk.
 */
describe('backup copies: verified only while their files are intact', () => {
  const scratch = new PgScratch('opsflow_test_backup_copies');
  const root = mkdtempSync(join(tmpdir(), 'opsflow-backup-copies-'));
  const dest = (set: string) => join(root, set);
  let db = '';
  let driftDb = '';
  let backup: ReturnType<typeof backupActivities>;
  let readiness: ReturnType<typeof readinessActivities>;
  let report: ReturnType<typeof dailyReportActivities>;

  beforeAll(async () => {
    await requirePostgres();
    db = await scratch.database();
    await scratch.query(`CREATE TABLE orders (id int PRIMARY KEY, total numeric(10,2))`, [], db);
    await scratch.query(`INSERT INTO orders SELECT g, g / 3.0 FROM generate_series(1, 200) g`, [], db);
    await scratch.query(`CREATE TABLE customers (id int PRIMARY KEY, name text)`, [], db);
    await scratch.query(`INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 50) g`, [], db);
    driftDb = await scratch.database();
    await scratch.query(
      `CREATE TABLE orders (id int PRIMARY KEY, total numeric(10,2)); INSERT INTO orders SELECT g, g / 3.0 FROM generate_series(1, 200) g`,
      [],
      driftDb,
    );
    await scratch.query(
      `CREATE TABLE customers (id int PRIMARY KEY, name text); INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 50) g`,
      [],
      driftDb,
    );
    // Target names of their own keep this file's drill databases apart from other tests' drills.
    const set = (name: string, databases = ['copies_app']) => ({
      databases,
      destination: dest(name),
      retentionDays: 30,
      minVerifiedCopies: 1,
    });
    const config = parseConfigText(
      JSON.stringify({
        postgres: {
          copies_app: { ...pgConnection, database: db },
          copies_drift: { ...pgConnection, database: driftDb },
          copies_gone: { ...pgConnection, database: 'opsflow_no_such_database' },
        },
        backups: {
          flip: set('flip'),
          cache: set('cache'),
          age: set('age'),
          broken: set('broken', ['copies_gone']),
          drift: set('drift', ['copies_drift']),
        },
        readiness: {
          checklists: {
            ops: { items: ['flip', 'broken', 'cache'].map((s) => ({ id: `backup-${s}`, check: 'backup', set: s })) },
          },
        },
      }),
      'backup-copies-test.json',
    );
    backup = backupActivities(config);
    readiness = readinessActivities(config);
    report = dailyReportActivities(config);
  }, 60_000);

  afterAll(async () => {
    await scratch.drop();
    rmSync(root, { recursive: true, force: true });
  }, 60_000);

  /** One backup run's dump on a copy taken `hoursAgo`, and its restore drill unless `drill` is false. */
  async function backupCopy(
    set: string,
    hoursAgo: number,
    drill = true,
  ): Promise<{ copy: string; manifest: ArtifactManifest; file: string }> {
    const copy = copyStamp(new Date(Date.now() - hoursAgo * HOUR));
    await runActivity(backup.planBackup, { set, copy });
    const manifest = await runActivity(backup.backupDatabase, { set, copy, target: 'copies_app' });
    if (drill)
      expect(await runActivity(backup.drillDatabase, { set, copy, manifest })).toMatchObject({ tables: 2, rows: 250 });
    return { copy, manifest, file: join(dest(set), copy, manifest.file) };
  }
  const ready = (set: string) =>
    runActivity(readiness.readinessBackup, { checklist: 'ops', item: `backup-${set}`, runKey: 'test/run/1' });
  const retention = (set: string) => runActivity(backup.applyBackupRetention, { set, copy: copyStamp(new Date()) });

  test('a byte flipped in a verified dump: readiness fails naming it corrupt, the health check and the report say so, retention keeps the older good copy', async () => {
    const good = await backupCopy('flip', 60 * 24);
    const fresh = await backupCopy('flip', 2);
    expect((await ready('flip')).outcome).toBe('pass');
    expect((await runActivity(backup.checkBackupAge, 'flip')).status).toBe('healthy');

    flipByte(fresh.file, Math.floor(fresh.manifest.bytes / 2));
    const corrupt = `corrupt since verified: ${fresh.copy} (db-copies_app.dump)`;

    const r = await ready('flip');
    expect(r.outcome).toBe('fail');
    expect(r.message).toMatch(
      new RegExp(
        `^newest verified copy: ${good.copy} is 1440(\\.\\d)? h old; newest copy ${fresh.copy} has db-copies_app\\.dump corrupt since verified \\(verified \\S+; its sha256 no longer matches its manifest\\)`,
      ),
    );

    const health = await runActivity(backup.checkBackupAge, 'flip');
    expect(health).toMatchObject({ status: 'critical' });
    expect(health.value).toBeCloseTo(1440, 0);
    expect(health.message).toBe(
      `latest verified backup ${good.copy} is ${health.value} h old (warning past 26 h, critical past 50 h); ${corrupt}`,
    );

    const standing = await runActivity(report.reportBackups, 'flip');
    expect(standing).toMatchObject({ copies: 2, latest: fresh.copy, latestVerified: good.copy, corrupt });
    expect(standing.verifiedAgeHours).toBeCloseTo(1440, 0);

    // The good copy is 60 days old, past the 30 days: it stays only because it is the last verified one.
    const kept = await retention('flip');
    expect(kept).toMatchObject({ deleted: [], copies: 2, verifiedCopies: 1, corrupt });
    expect(kept.keptExpired).toEqual([`${good.copy}: older than 30 days, kept as one of the last 1 verified copies`]);
    expect(existsSync(good.file)).toBe(true);
  }, 180_000);

  test('the sha256 is cached by size, mtime, ctime and inode: an unchanged file is not hashed again, a touched one is', async () => {
    const { file, manifest } = await backupCopy('cache', 1);
    const read = async () => {
      const before = filesHashed();
      const r = await runActivity(backup.checkBackupAge, 'cache');
      return { status: r.status, hashed: filesHashed() - before };
    };
    // The drill that verified the dump left its hash in the cache: no reader reads the file again.
    expect(JSON.parse(readFileSync(hashCacheFile(file), 'utf8'))).toMatchObject({
      sha256: manifest.sha256,
      size: manifest.bytes,
    });
    expect(await read()).toEqual({ status: 'healthy', hashed: 0 });
    expect(await read()).toEqual({ status: 'healthy', hashed: 0 });
    const before = filesHashed();
    expect((await ready('cache')).outcome).toBe('pass');
    expect((await runActivity(report.reportBackups, 'cache')).latestVerified).toBeDefined();
    expect(filesHashed()).toBe(before);

    // Without a cache (a copy verified before there was one) the first reader hashes, and caches.
    rmSync(hashCacheFile(file));
    expect(await read()).toEqual({ status: 'healthy', hashed: 1 });
    expect(await read()).toEqual({ status: 'healthy', hashed: 0 });

    const later = new Date(Date.now() + 60_000);
    utimesSync(file, later, later);
    expect(await read()).toEqual({ status: 'healthy', hashed: 1 });
    expect(await read()).toEqual({ status: 'healthy', hashed: 0 });

    // Changed bytes change the file's ctime: the reader hashes again and finds the corruption.
    flipByte(file, 10);
    expect(await read()).toEqual({ status: 'critical', hashed: 1 });
    expect(await read()).toEqual({ status: 'critical', hashed: 0 });
  }, 120_000);

  test("a copy's age is its run's start (its folder name) for retention as for the others: touching files does not make a copy young", async () => {
    const old = await backupCopy('age', 40 * 24, false);
    const young = await backupCopy('age', 2, false);
    const now = new Date();
    const longAgo = new Date(Date.now() - 400 * DAY);
    for (const f of readdirSync(join(dest('age'), old.copy))) utimesSync(join(dest('age'), old.copy, f), now, now);
    for (const f of readdirSync(join(dest('age'), young.copy)))
      utimesSync(join(dest('age'), young.copy, f), longAgo, longAgo);
    const r = await retention('age');
    expect(r).toMatchObject({ deleted: [old.copy], copies: 1, verifiedCopies: 0 });
    expect(readdirSync(dest('age'))).toEqual([young.copy]);
    expect((await runActivity(report.reportBackups, 'age')).latest).toBe(young.copy);
  }, 120_000);

  test('a run whose every step failed leaves no folder that counts as a copy', async () => {
    const copy = copyStamp(new Date());
    await runActivity(backup.planBackup, { set: 'broken', copy });
    await expect(runActivity(backup.backupDatabase, { set: 'broken', copy, target: 'copies_gone' })).rejects.toThrow(
      /does not exist/,
    );
    expect(existsSync(join(dest('broken'), copy))).toBe(true);

    expect((await ready('broken')).message).toBe(
      `newest verified copy: no verified copy at all (no copy in ${dest('broken')}) (needs restore drill passed, < 24 h old)`,
    );
    expect(await runActivity(report.reportBackups, 'broken')).toMatchObject({ copies: 0, latest: undefined });
    const r = await runActivity(backup.applyBackupRetention, { set: 'broken', copy });
    expect(r).toMatchObject({ deleted: [], copies: 0, verifiedCopies: 0, removedUnfinished: [copy] });
    expect(readdirSync(dest('broken'))).toEqual([]);
  }, 60_000);

  test('the restore drill fails naming the tables when the restored database differs from what the dump snapshot held', async () => {
    const copy = copyStamp(new Date(Date.now() - HOUR));
    await runActivity(backup.planBackup, { set: 'drift', copy });
    const manifest = await runActivity(backup.backupDatabase, { set: 'drift', copy, target: 'copies_drift' });
    // The source changes after the dump; a second dump of it stands in for a dump file that does not
    // hold the snapshot its manifest's fingerprints were read in. Its sha256 is made the manifest's,
    // so only the restored tables can tell.
    await scratch.query(
      `DELETE FROM orders WHERE id = 7; UPDATE customers SET name = 'changed' WHERE id = 3`,
      [],
      driftDb,
    );
    const other = copyStamp(new Date());
    await runActivity(backup.planBackup, { set: 'drift', copy: other });
    const altered = await runActivity(backup.backupDatabase, { set: 'drift', copy: other, target: 'copies_drift' });
    copyFileSync(join(dest('drift'), other, altered.file), join(dest('drift'), copy, manifest.file));
    const swapped: ArtifactManifest = { ...manifest, sha256: altered.sha256, bytes: altered.bytes };
    writeFileSync(join(dest('drift'), copy, `${manifest.file}.manifest.json`), JSON.stringify(swapped));

    await expect(runActivity(backup.drillDatabase, { set: 'drift', copy, manifest: swapped })).rejects.toThrow(
      /^restore of db-copies_drift\.dump does not match its manifest: public\.customers: checksum differs \(\d+ restored, \d+ dumped\); public\.orders: 199 rows restored, 200 dumped$/,
    );
    expect(
      JSON.parse(readFileSync(join(dest('drift'), copy, `${manifest.file}.verify-failed.json`), 'utf8')),
    ).toMatchObject({ how: 'restore drill', sha256: altered.sha256 });
    expect(existsSync(join(dest('drift'), copy, `${manifest.file}.verified.json`))).toBe(false);
    const drills = await scratch.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'opsflow_drill_%copies_drift'`,
    );
    expect(drills).toEqual([]);
  }, 120_000);
});

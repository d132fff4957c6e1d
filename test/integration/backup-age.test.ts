import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupActivities } from '../../src/activities/backup';
import { parseConfigText } from '../../src/config/load';
import { copyStamp } from '../../src/domain/backup/manifest';
import { rateBackupAge } from '../../src/domain/backup/age';

/** A copy folder on disk as a backup run leaves it: one artifact, its manifest and, if verified, its mark. */
function writeCopy(dest: string, hoursAgo: number, verified: boolean): string {
  const name = copyStamp(new Date(Date.now() - hoursAgo * 3_600_000));
  const dir = join(dest, name);
  mkdirSync(dir, { recursive: true });
  const bytes = Buffer.from('a dump');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(dir, 'db-app.dump'), bytes);
  writeFileSync(
    join(dir, 'db-app.dump.manifest.json'),
    JSON.stringify({ kind: 'postgres', file: 'db-app.dump', bytes: bytes.length, sha256 }),
  );
  if (verified)
    writeFileSync(
      join(dir, 'db-app.dump.verified.json'),
      JSON.stringify({ sha256, bytes: bytes.length, verifiedAt: 'x', how: 'restore drill' }),
    );
  return name;
}

describe('health check: latest verified backup age', () => {
  const dest = mkdtempSync(join(tmpdir(), 'opsflow-backup-age-'));
  const config = parseConfigText(
    JSON.stringify({
      postgres: { app: { database: 'app' } },
      backups: { nightly: { databases: ['app'], destination: dest, verifiedAgeHours: { warning: 26, critical: 50 } } },
    }),
    'c.json',
  );
  const check = () => backupActivities(config).checkBackupAge('nightly');
  afterAll(() => rmSync(dest, { recursive: true, force: true }));

  test('rated by the newest verified copy on disk; a newer unverified one does not count; a deleted dump un-verifies its copy', async () => {
    expect(await check()).toMatchObject({
      kind: 'backup',
      target: 'nightly',
      status: 'critical',
      message: 'no verified backup of set nightly',
    });
    const old = writeCopy(dest, 60, true);
    expect(await check()).toMatchObject({ status: 'critical', unit: 'h' });
    const mid = writeCopy(dest, 30, true);
    writeCopy(dest, 1, false);
    const r = await check();
    expect(r).toMatchObject({ status: 'warning' });
    expect(r.message).toMatch(
      new RegExp(`^latest verified backup ${mid} is 30(\\.\\d)? h old \\(warning past 26 h, critical past 50 h\\)$`),
    );
    rmSync(join(dest, mid, 'db-app.dump'));
    expect((await check()).message).toContain(`latest verified backup ${old} is 60`);
  });

  test('thresholds: healthy up to the warning, warning up to the critical', () => {
    const now = Date.parse('2026-11-24T12:00:00Z');
    const limits = { warning: 26, critical: 50 };
    expect(rateBackupAge('s', '20261123T120000Z', now, limits).status).toBe('healthy');
    expect(rateBackupAge('s', '20261123T095000Z', now, limits)).toMatchObject({ status: 'warning', value: 26.2 });
    expect(rateBackupAge('s', '20261122T095000Z', now, limits)).toMatchObject({ status: 'critical', value: 50.2 });
  });

  test('a warning above the critical is refused naming the field', () => {
    expect(() =>
      parseConfigText(
        JSON.stringify({
          backups: {
            n: { configFiles: ['/etc/x'], destination: '/b', verifiedAgeHours: { warning: 60, critical: 50 } },
          },
        }),
        'c.json',
      ),
    ).toThrow('backups.n.verifiedAgeHours.warning: warning must not be above critical');
  });
});

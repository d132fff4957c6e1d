import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { ApplicationFailure } from '@temporalio/activity';
import type { ClientConfig } from 'pg';
import { withClient } from '../systems/postgres/connect';
import { compareTables, type ArtifactManifest, type DrillRecord } from '../../domain/backup/manifest';
import { sha256File } from './files';
import { libpqArgs, tableFingerprints } from './fingerprint';
import { runTool } from './tool';

/** The scratch database of one drill: a plain identifier, at most 63 bytes. */
function scratchDatabaseName(copy: string, target: string): string {
  return `opsflow_drill_${copy}_${target}`
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 63);
}

/**
 * The proof of a dump: its bytes still match the manifest, it restores into a scratch database
 * (created here, dropped whatever happens), and every table there has the row count and checksum
 * the manifest read in the dump's snapshot. Returns the record of the drill with the restore time.
 * Any difference is a non-retryable failure naming the tables: "could not verify" is not success.
 */
export async function restoreDrill(
  admin: ClientConfig,
  dir: string,
  m: ArtifactManifest,
  copy: string,
): Promise<DrillRecord> {
  const db = m.database!;
  const path = join(dir, m.file);
  const sha = await sha256File(path);
  if (sha !== m.sha256)
    throw ApplicationFailure.nonRetryable(
      `${m.file}: sha256 ${sha} differs from the manifest's ${m.sha256}: the dump changed after it was written`,
      'ChecksumMismatch',
    );
  const scratch = scratchDatabaseName(copy, db.target);
  // A drill killed with its worker leaves its scratch database: a new attempt starts clean.
  await withClient(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`));
  await withClient(admin, (c) => c.query(`CREATE DATABASE ${scratch}`));
  try {
    const started = Date.now();
    const pq = libpqArgs(admin, scratch, `opsflow-drill ${m.file}`);
    const r =
      db.format === 'custom'
        ? await runTool({
            argv: ['pg_restore', ...pq.args, '--no-owner', '--no-privileges', '--exit-on-error', path],
            env: pq.env,
          })
        : await runTool({
            argv: ['psql', ...pq.args, '-q', '-v', 'ON_ERROR_STOP=1', '-f', '-'],
            env: pq.env,
            stdin: createReadStream(path).pipe(createGunzip()),
          });
    if (r.code !== 0)
      throw ApplicationFailure.nonRetryable(
        `restore of ${m.file} into ${scratch} failed (exit ${r.code}): ${r.stderr || 'no message'}`,
        'RestoreFailed',
      );
    const restoreSeconds = Math.round((Date.now() - started) / 100) / 10;
    const restored = await withClient({ ...admin, database: scratch }, (c) => tableFingerprints(c));
    const differences = compareTables(db.tables, restored);
    if (differences.length)
      throw ApplicationFailure.nonRetryable(
        `restore of ${m.file} does not match its manifest: ${differences.join('; ')}`,
        'DrillMismatch',
      );
    const tables = Object.values(db.tables);
    return {
      database: db.target,
      file: m.file,
      sha256: m.sha256,
      bytes: m.bytes,
      tables: tables.length,
      rows: tables.reduce((n, t) => n + t.rows, 0),
      restoreSeconds,
      verifiedAt: new Date().toISOString(),
    };
  } finally {
    await withClient(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`));
  }
}

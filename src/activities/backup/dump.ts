import { join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ClientConfig } from 'pg';
import { withClient } from '../systems/postgres/connect';
import type { ArtifactManifest } from '../../domain/backup/manifest';
import { finishArtifact, recordWriter, removeEarlierAttempts, startArtifact } from './files';
import { libpqArgs, tableFingerprints } from './fingerprint';
import { runTool } from './tool';

// SQLSTATE invalid_catalog_name: the database does not exist; no retry will make it.
const NO_DATABASE = '3D000';

/**
 * One database's dump and, in the same snapshot, every table's row count and checksum: a
 * REPEATABLE READ transaction exports its snapshot, pg_dump takes it (`--snapshot`) and the
 * fingerprints are read in that transaction while the dump runs, so rows written meanwhile are in
 * neither. Written under a temporary name and renamed when whole, then the manifest beside it.
 */
export async function dumpDatabase(
  cfg: ClientConfig,
  o: { target: string; format: 'custom' | 'sql.gz'; dir: string; file: string },
): Promise<ArtifactManifest> {
  const started = startArtifact(o.dir, o.file, Context.current().info.attempt);
  if (started.done) return started.done;
  const { partial } = started;
  const database = String(cfg.database);
  const { snapshot, tables, result } = await withClient(cfg, async (c) => {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snap = (await c.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0].s;
    const pq = libpqArgs(cfg, database, `opsflow-backup ${o.file}`);
    const dumping = runTool({
      argv: [
        'pg_dump',
        ...pq.args,
        `--snapshot=${snap}`,
        ...(o.format === 'custom' ? ['-Fc', '-f', partial] : ['-Fp']),
      ],
      env: pq.env,
      ...(o.format === 'sql.gz' ? { stdoutTo: { path: partial, gzip: true } } : {}),
      onSpawn: (pid) => recordWriter(partial, pid),
    });
    // The dump waits for this transaction to stay open; a fingerprint failure still lets it end first.
    const fingerprints = await tableFingerprints(c).catch((err: Error) => err);
    const dumped = await dumping;
    await c.query('COMMIT');
    if (fingerprints instanceof Error) throw fingerprints;
    return { snapshot: snap, tables: fingerprints, result: dumped };
  }).catch((err: { code?: string; message: string }) => {
    if (err.code === NO_DATABASE)
      throw ApplicationFailure.nonRetryable(`pg_dump of ${o.target}: ${err.message}`, 'NoSuchDatabase');
    throw err;
  });
  if (result.code !== 0) {
    removeEarlierAttempts(join(o.dir, o.file));
    throw ApplicationFailure.retryable(
      `pg_dump of ${o.target} (database ${database}) exited with ${result.code}: ${result.stderr || 'no message'}`,
      'DumpFailed',
    );
  }
  return finishArtifact(o.dir, o.file, started, {
    kind: 'postgres',
    database: { target: o.target, name: database, format: o.format, snapshot, tables },
  });
}

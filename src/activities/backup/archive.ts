import { basename, dirname, join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ArtifactManifest } from '../../domain/backup/manifest';
import { finishArtifact, recordWriter, removeEarlierAttempts, sha256File, startArtifact } from './files';
import { runTool } from './tool';

/**
 * A gzipped tar of absolute paths, by the system `tar` as an argv (no shell): each path is given
 * relative to `/` (or to its parent, for a tree) as `./…`, so no name can read as an option.
 */
export async function tarArtifact(o: {
  kind: 'app-tree' | 'config-files';
  dir: string;
  file: string;
  paths: string[];
  exclude: string[];
  tree: boolean;
}): Promise<ArtifactManifest> {
  const started = startArtifact(o.dir, o.file, Context.current().info.attempt);
  if (started.done) return started.done;
  const { partial } = started;
  const where = o.tree
    ? ['-C', dirname(o.paths[0]), `./${basename(o.paths[0])}`]
    : ['-C', '/', ...o.paths.map((p) => `.${p}`)];
  const r = await runTool({
    argv: ['tar', '-czf', partial, ...o.exclude.map((e) => `--exclude=${e}`), ...where],
    onSpawn: (pid) => recordWriter(partial, pid),
  });
  if (r.code !== 0) {
    removeEarlierAttempts(join(o.dir, o.file));
    // A missing file will be missing on the next try too.
    const missing = /Cannot stat|No such file/.test(r.stderr);
    const message = `tar of the ${o.kind.replace('-', ' ')} exited with ${r.code}: ${r.stderr || 'no message'}`;
    throw missing
      ? ApplicationFailure.nonRetryable(message, 'TarFailed')
      : ApplicationFailure.retryable(message, 'TarFailed');
  }
  return finishArtifact(o.dir, o.file, started, { kind: o.kind, sources: o.paths, excluded: o.exclude });
}

/** A tar's proof: its bytes still match the manifest and tar can read it to the end. */
export async function verifyTar(dir: string, m: ArtifactManifest): Promise<void> {
  const path = join(dir, m.file);
  const sha = await sha256File(path);
  if (sha !== m.sha256)
    throw ApplicationFailure.nonRetryable(
      `${m.file}: sha256 ${sha} differs from the manifest's ${m.sha256}: the file changed after it was written`,
      'ChecksumMismatch',
    );
  const r = await runTool({ argv: ['tar', '-tzf', path] });
  if (r.code !== 0)
    throw ApplicationFailure.nonRetryable(
      `${m.file}: tar cannot read it (exit ${r.code}): ${r.stderr}`,
      'UnreadableArchive',
    );
}

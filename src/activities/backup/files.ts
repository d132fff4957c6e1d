import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ArtifactManifest } from '../../domain/backup/manifest';

/** sha256 of a file, streamed (dumps can be large). */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('error', reject)
      .on('data', (b) => h.update(b))
      .on('end', () => resolve(h.digest('hex')));
  });
}

/**
 * The temporary name an artifact is written under until it is complete: `<final>.partial-<attempt>`.
 * Nothing that ends in `.partial-*` is ever a finished artifact, so a crash leaves nothing that
 * looks finished.
 */
const partialPath = (final: string, attempt: number) => `${final}.partial-${attempt}`;
const pidFile = (partial: string) => `${partial}.pid`;

/** Notes which process writes `partial`, so that a later attempt can stop it if its worker died. */
export function recordWriter(partial: string, pid: number | undefined): void {
  if (pid) writeFileSync(pidFile(partial), String(pid));
}

/**
 * Removes what earlier attempts at `final` left: their temporary files, after stopping their writer
 * if it still runs (a worker killed with SIGKILL leaves its pg_dump or tar running, still writing).
 * A pid is killed only when its command line names that attempt's file, so a reused pid is safe.
 */
export function removeEarlierAttempts(final: string): string[] {
  const dir = dirname(final);
  if (!existsSync(dir)) return [];
  const prefix = `${basename(final)}.partial-`;
  const leftovers = readdirSync(dir).filter((f) => f.startsWith(prefix));
  for (const f of leftovers.filter((f) => f.endsWith('.pid'))) {
    const pid = Number(readFileSync(join(dir, f), 'utf8'));
    const partial = join(dir, f.slice(0, -'.pid'.length));
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes(basename(partial))) process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
  for (const f of leftovers) rmSync(join(dir, f), { force: true });
  return leftovers.filter((f) => !f.endsWith('.pid'));
}

/** Moves a complete temporary file to its final name and forgets its writer. */
function complete(partial: string, final: string): void {
  renameSync(partial, final);
  rmSync(pidFile(partial), { force: true });
}

/** Writes JSON under a temporary name and renames it: a reader sees the whole file or none. */
export function writeJsonAtomic(path: string, data: unknown): void {
  const tmp = `${path}.partial-json`;
  writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n');
  renameSync(tmp, path);
}

export function readJson<T>(path: string): T | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined;
}

/** The artifact's manifest when an earlier attempt finished it (its result lost with its worker). */
function finishedArtifact(dir: string, file: string): ArtifactManifest | undefined {
  const m = readJson<ArtifactManifest>(join(dir, `${file}.manifest.json`));
  try {
    return m && statSync(join(dir, file)).size === m.bytes ? m : undefined;
  } catch {
    return undefined;
  }
}

/** An artifact about to be written: the one an earlier attempt finished, or a clean temporary name. */
export type ArtifactStart = { done: ArtifactManifest } | { done?: undefined; partial: string; startedAt: Date };

export function startArtifact(dir: string, file: string, attempt: number): ArtifactStart {
  const done = finishedArtifact(dir, file);
  if (done) return { done };
  const final = join(dir, file);
  removeEarlierAttempts(final);
  return { partial: partialPath(final, attempt), startedAt: new Date() };
}

/** A whole temporary file becomes the artifact: its sha256 and size, the rename, then its manifest. */
export async function finishArtifact(
  dir: string,
  file: string,
  started: { partial: string; startedAt: Date },
  about: Pick<ArtifactManifest, 'kind' | 'database' | 'sources' | 'excluded'>,
): Promise<ArtifactManifest> {
  const manifest: ArtifactManifest = {
    ...about,
    file,
    bytes: statSync(started.partial).size,
    sha256: await sha256File(started.partial),
    startedAt: started.startedAt.toISOString(),
    durationMs: Date.now() - started.startedAt.getTime(),
  };
  complete(started.partial, join(dir, file));
  writeJsonAtomic(join(dir, `${file}.manifest.json`), manifest);
  return manifest;
}

import { ApplicationFailure } from '@temporalio/activity';
import type { DeployCommand } from '../../config/sections/deploy';
import {
  BUILDING_PREFIX,
  COMPLETE_MARKER,
  FAILED_MARKER,
  releaseNamePattern,
  releaseState,
  releasesOf,
  type ReleaseEntry,
} from '../../domain/deploy/release';
import { hostScript, type DeployTarget } from './host';

/** A release name reaches a shell script as an argument only after this check. */
function checkedRelease(name: string): string {
  if (!releaseNamePattern.test(name))
    throw ApplicationFailure.nonRetryable(`not a release name: ${JSON.stringify(name)}`, 'InvalidRelease');
  return name;
}

export interface HostReleases {
  /** The release `current` points at, if any. */
  current?: string;
  releases: ReleaseEntry[];
}

const READ = `
cd "$1" 2>/dev/null || exit 0
printf 'current %s\\n' "$(readlink current 2>/dev/null || true)"
[ -d releases ] || exit 0
for d in releases/*/; do
  [ -d "$d" ] || continue
  n=$(basename "$d"); c=0; f=0
  [ -e "$d/${COMPLETE_MARKER}" ] && c=1
  [ -e "$d/${FAILED_MARKER}" ] && f=1
  printf 'release %s %s %s\\n' "$n" "$c" "$f"
done`;

/** What is on the host: the releases with their markers and where `current` points. Reads only. */
export async function readReleases(t: DeployTarget): Promise<HostReleases> {
  const out = await hostScript(t, 'reading releases', READ, [t.path]);
  let current: string | undefined;
  const entries: ReleaseEntry[] = [];
  for (const line of out.split('\n')) {
    const [kind, a, c, f] = line.split(' ');
    if (kind === 'current' && a) current = a.replace(/^releases\//, '').replace(/\/$/, '');
    if (kind === 'release' && a)
      entries.push({ name: a, state: releaseState({ complete: c === '1', failed: f === '1' }) });
  }
  return { current, releases: releasesOf(entries) };
}

// Fetch into the cached mirror only when it lacks the commit: a retry after a kill does no network work twice.
const CHECKOUT = `
path=$1; name=$2; commit=$3; repo=$4
mkdir -p "$path/releases"
if [ -d "$path/releases/$name" ]; then echo exists; exit 0; fi
if [ ! -d "$path/.repo" ]; then
  rm -rf "$path/.repo.tmp"
  git clone --quiet --mirror -- "$repo" "$path/.repo.tmp"
  mv -T "$path/.repo.tmp" "$path/.repo"
fi
if ! git --git-dir="$path/.repo" cat-file -e "$commit^{commit}" 2>/dev/null; then
  git --git-dir="$path/.repo" remote update --prune >/dev/null
fi
b="$path/releases/${BUILDING_PREFIX}$name"
rm -rf "$b"
mkdir -p "$b"
git --git-dir="$path/.repo" archive --format=tar "$commit" | tar -x -C "$b"
echo checked-out`;

// A finished tree under its final name, or nothing: rename is atomic, a kill before it leaves only the building dir.
const PUBLISH = `
path=$1; name=$2; b="$path/releases/${BUILDING_PREFIX}$name"
if [ -d "$path/releases/$name" ]; then rm -rf "$b"; exit 0; fi
mv -T "$b" "$path/releases/$name"`;

/**
 * Builds `releases/<name>` from the cached clone: check out the commit, run install and static in
 * the tree, then publish it by renaming. Idempotent: a release that already exists is left as it is.
 */
export async function buildRelease(
  t: DeployTarget,
  name: string,
  commit: string,
  runCommand: (what: string, cmd: DeployCommand, cwd: string) => Promise<void>,
): Promise<{ release: string; built: boolean }> {
  checkedRelease(name);
  const out = await hostScript(
    t,
    'checking out the release',
    CHECKOUT,
    [t.path, name, commit, t.cfg.repository],
    10 * 60_000,
  );
  if (out.trim() === 'exists') return { release: name, built: false };
  const dir = `${t.path}/releases/${BUILDING_PREFIX}${name}`;
  if (t.cfg.commands.install) await runCommand('install', t.cfg.commands.install, dir);
  if (t.cfg.commands.static) await runCommand('static', t.cfg.commands.static, dir);
  await hostScript(t, 'publishing the release', PUBLISH, [t.path, name]);
  return { release: name, built: true };
}

// A symlink under a temporary name renamed over `current`: at every instant `current` is the old or the new release.
const SWITCH = `
cd "$1"; [ -d "releases/$2" ] || { echo "no release $2" >&2; exit 3; }
prev=$(readlink current 2>/dev/null || true)
tmp="current.tmp-$$"
ln -sfn "releases/$2" "$tmp"
mv -T "$tmp" current
printf '%s\\n' "$prev"`;

/** Points `current` at the release; returns where it pointed before. Idempotent. */
export async function switchCurrent(t: DeployTarget, name: string): Promise<{ previous?: string }> {
  const out = (await hostScript(t, `switching current to ${checkedRelease(name)}`, SWITCH, [t.path, name])).trim();
  return { previous: out ? out.replace(/^releases\//, '') : undefined };
}

export async function markRelease(t: DeployTarget, name: string, state: 'complete' | 'failed'): Promise<void> {
  const marker = state === 'complete' ? COMPLETE_MARKER : FAILED_MARKER;
  await hostScript(
    t,
    `marking ${checkedRelease(name)} ${state}`,
    'd="$1/releases/$2"; [ -d "$d" ] || { echo "no release $2" >&2; exit 3; }; touch "$d/$3"',
    [t.path, name, marker],
  );
}

/** Removes the named releases and any building dir other than `keepBuilding`'s (left by a killed build). */
export async function removeReleases(t: DeployTarget, names: string[], keepBuilding?: string): Promise<void> {
  names.forEach(checkedRelease);
  const script = `
path=$1; keep=$2; shift 2
for n in "$@"; do rm -rf "$path/releases/$n"; done
for b in "$path"/releases/${BUILDING_PREFIX}*; do
  [ -e "$b" ] || continue
  [ "$b" = "$path/releases/${BUILDING_PREFIX}$keep" ] && continue
  rm -rf "$b"
done`;
  await hostScript(t, 'removing old releases', script, [t.path, keepBuilding ?? '', ...names]);
}

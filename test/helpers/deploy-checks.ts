import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * What the compose and Kubernetes tests both check of a deployment, without running it: the
 * addresses an opsflow config names, the secrets it reads, the commands a container runs, and the
 * executables the activities spawn.
 */
export const root = resolve(__dirname, '../..');

/** Every `{ env: NAME }` anywhere in a parsed config. */
export function envSecrets(node: unknown): string[] {
  const out = new Set<string>();
  const walk = (n: unknown) => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (!n || typeof n !== 'object') return;
    const o = n as Record<string, unknown>;
    if (Object.keys(o).length === 1 && typeof o.env === 'string') out.add(o.env);
    else Object.values(o).forEach(walk);
  };
  walk(node);
  return [...out].sort();
}

export interface Address {
  /** Where in the config, e.g. postgres.opsflow */
  field: string;
  host: string;
  port: number;
}

const defaultPort: Record<string, number> = { 'http:': 80, 'https:': 443 };
const urlAddress = (field: string, url: string): Address => {
  const u = new URL(url);
  return { field, host: u.hostname, port: u.port ? Number(u.port) : defaultPort[u.protocol] };
};

/** The network addresses a parsed config sends opsflow to (targets, metric sources, load balancers, notifier URLs). */
export function configAddresses(cfg: Record<string, any>): Address[] {
  const out: Address[] = [];
  for (const [n, t] of Object.entries<any>(cfg.postgres ?? {}))
    out.push({ field: `postgres.${n}`, host: t.host ?? '127.0.0.1', port: t.port ?? 5432 });
  for (const [n, t] of Object.entries<any>(cfg.redis ?? {}))
    out.push({ field: `redis.${n}`, host: t.host ?? '127.0.0.1', port: t.port ?? 6379 });
  for (const [n, t] of Object.entries<any>(cfg.hosts ?? {}))
    out.push({ field: `hosts.${n}`, host: t.host, port: t.port });
  for (const [n, t] of Object.entries<any>(cfg.http ?? {})) out.push(urlAddress(`http.${n}`, t.url));
  for (const section of ['metricSources', 'loadBalancers', 'notifiers'])
    for (const [n, t] of Object.entries<any>(cfg[section] ?? {}))
      if (typeof t.url === 'string') out.push(urlAddress(`${section}.${n}`, t.url));
  return out;
}

/** Runs `bin/opsflow <args> --help`: a command that exists prints its help and exits 0. */
export function opsflowHelp(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) =>
    execFile(
      join(root, 'bin/opsflow'),
      [...args, '--help'],
      { cwd: root, timeout: 240_000, env: { ...process.env, OPSFLOW_CONFIG: '' } },
      (err, stdout, stderr) =>
        done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` }),
    ),
  );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/**
 * The executables the activities spawn: literal program names (`execFile('git', …)`,
 * `argv: ['pg_dump', …]`, `['sudo', …]`), and the config's default program names
 * (`systemctl`, `binary`, `command` fields with a default).
 */
export function spawnedExecutables(): string[] {
  const found = new Set<string>();
  for (const file of sourceFiles(join(root, 'src/activities'))) {
    const text = readFileSync(file, 'utf8');
    for (const re of [/(?:execFile|spawn)\(\s*'([\w.-]+)'/g, /argv:\s*\[\s*'([\w.-]+)'/g, /\[\s*'(sudo)'/g])
      for (const m of text.matchAll(re)) found.add(m[1]);
  }
  for (const file of sourceFiles(join(root, 'src/config/sections'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(
      /(?:systemctl|binary|command):\s*(?:z\s*\.string\(\)|nonEmpty)[^\n]*?\.default\('([\w.-]+)'\)/g,
    ))
      found.add(m[1]);
  }
  return [...found].sort();
}

/** The executables the Dockerfile's apt-get installs (and the base image has), by package. */
const packageExecutables: Record<string, string[]> = {
  git: ['git'],
  'openssh-client': ['ssh', 'scp'],
  tar: ['tar'],
  gzip: ['gzip'],
};
export function imageExecutables(dockerfile: string): { executables: string[]; pgMajor: string } {
  const pgMajor = /^ARG PG_MAJOR=(\d+)$/m.exec(dockerfile)?.[1] ?? '';
  const installs = [...dockerfile.matchAll(/apt-get install -y --no-install-recommends ([^\n&\\]+)/g)].flatMap((m) =>
    m[1].trim().split(/\s+/),
  );
  const executables = installs.flatMap((pkg) => {
    const p = pkg.replace(/"/g, '').replace('${PG_MAJOR}', pgMajor);
    if (p === `postgresql-client-${pgMajor}`) return ['pg_dump', 'pg_restore', 'psql'];
    return packageExecutables[p] ?? [];
  });
  return { executables: [...new Set(executables)].sort(), pgMajor };
}

/** The programs docs/production.md says run on the managed hosts, not in the image. */
export function hostExecutables(): string[] {
  const doc = readFileSync(join(root, 'docs/production.md'), 'utf8');
  const line = doc.split('\n').find((l) => l.startsWith('On the managed hosts, not in the image:'));
  return line ? [...line.matchAll(/`([\w.-]+)`/g)].map((m) => m[1]).sort() : [];
}

/** The dev server's Temporal server and UI versions (`temporal --version`). */
export function devStackVersions(): { server: string; ui: string } {
  const out = execFileSync(join(root, 'bin/temporal'), ['--version'], { encoding: 'utf8' });
  const m = /Server ([\d.]+), UI ([\d.]+)/.exec(out);
  if (!m) throw new Error(`bin/temporal --version said "${out.trim()}", not "… (Server x, UI y)"`);
  return { server: m[1], ui: m[2] };
}

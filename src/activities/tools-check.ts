import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { OpsflowConfig } from '../config/schema';
import { clientConfig, withClient } from './systems/postgres/connect';

/**
 * What the worker's activities execute, checked once at start: a missing `git` or a `pg_dump`
 * older than the server it dumps otherwise shows up only hours later, as the first deploy or the
 * nightly backup failing. The worker warns and starts anyway: a missing tool stops only the
 * features that use it, and the config may name features this worker never gets to run.
 */

export interface ToolNeed {
  /** An executable name looked up on PATH, or an absolute path. */
  tool: string;
  /** Which configured feature runs it, for the warning. */
  why: string;
}

const sshUrl = (repo: string) => /^(ssh:\/\/|git\+ssh:\/\/|[\w.-]+@[\w.-]+:)/.test(repo);

/** The executables the configured features run on the worker's own machine. */
export function toolsNeeded(config: OpsflowConfig): ToolNeed[] {
  const needs: ToolNeed[] = [];
  const services = Object.entries(config.deploy.services);
  if (services.length)
    needs.push({
      tool: 'git',
      why: `deploy services ${services.map(([n]) => n).join(', ')} (the worker's mirror clones)`,
    });
  // git reaches an SSH remote through the ssh client; opsflow's own SSH hosts use a built-in client.
  const overSsh = services.filter(([, s]) => sshUrl(s.repository)).map(([n]) => n);
  if (overSsh.length) needs.push({ tool: 'ssh', why: `deploy services ${overSsh.join(', ')} (git over SSH)` });
  for (const [name, set] of Object.entries(config.backups)) {
    if (set.databases.length) {
      needs.push({ tool: 'pg_dump', why: `backup set ${name}` });
      needs.push(
        set.format === 'custom'
          ? { tool: 'pg_restore', why: `backup set ${name} (restore drill)` }
          : { tool: 'psql', why: `backup set ${name} (restore drill)` },
      );
    }
    if (set.appTree || set.configFiles.length)
      needs.push({ tool: 'tar', why: `backup set ${name} (app tree, config files)` });
  }
  if (config.systemd.units.length)
    needs.push({
      tool: config.systemd.systemctl,
      why: `systemd.units ${config.systemd.units.join(', ')} on this machine`,
    });
  const local = services.filter(([, s]) => Object.values(s.hosts).some((h) => h.transport === 'local')).map(([n]) => n);
  if (local.length)
    needs.push({
      tool: config.systemd.systemctl,
      why: `deploy services ${local.join(', ')} (hosts with transport local)`,
    });
  // One warning per tool, naming every feature that needs it.
  const byTool = new Map<string, string[]>();
  for (const n of needs) byTool.set(n.tool, [...(byTool.get(n.tool) ?? []), n.why]);
  return [...byTool].map(([tool, whys]) => ({ tool, why: whys.join('; ') }));
}

/** The executable `tool` resolves to on `PATH`, or undefined. */
export function findExecutable(tool: string, path = process.env.PATH ?? ''): string | undefined {
  const candidates = isAbsolute(tool)
    ? [tool]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, tool));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here: the next PATH entry
    }
  }
  return undefined;
}

/** The major version a PostgreSQL tool reports (`pg_dump (PostgreSQL) 16.4 …` → 16). */
export function toolMajor(versionLine: string): number | undefined {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(versionLine);
  if (!m) return undefined;
  const major = Number(m[1]);
  // Before 10 the major was two numbers (9.6); count it as below every server opsflow supports.
  return major < 10 ? major + Number(m[2] ?? 0) / 10 : major;
}

/** SHOW server_version_num (160004 → 16). */
const serverMajor = (versionNum: string | number) => Math.floor(Number(versionNum) / 10000);

function versionOf(executable: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(executable, ['--version'], { timeout: 10_000, encoding: 'utf8' }, (err, stdout) =>
      err ? reject(err) : resolve(stdout.trim()),
    ),
  );
}

/** The databases the backup sets dump, each once. */
function dumpedDatabases(config: OpsflowConfig): string[] {
  return [...new Set(Object.values(config.backups).flatMap((s) => s.databases))];
}

/**
 * Warnings (empty when all is well): a tool the config needs that is not on PATH, and pg_dump
 * older than a server a backup set dumps (pg_dump refuses a newer server). A server that cannot
 * be reached is said so, not treated as a failure: it may come up after the worker.
 */
export async function checkTools(config: OpsflowConfig, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const warnings: string[] = [];
  const found = new Map<string, string>();
  for (const need of toolsNeeded(config)) {
    const at = findExecutable(need.tool, env.PATH);
    if (at) found.set(need.tool, at);
    else
      warnings.push(
        `${need.tool} is not installed (not found on PATH), needed by ${need.why}: those runs will fail until it is`,
      );
  }
  const pgDump = found.get('pg_dump');
  if (!pgDump) return warnings;
  let dumpMajor: number | undefined;
  let line: string;
  try {
    line = await versionOf(pgDump);
    dumpMajor = toolMajor(line);
  } catch (err) {
    warnings.push(`${pgDump} --version failed (${(err as Error).message.split('\n')[0]}): its version is not checked`);
    return warnings;
  }
  if (dumpMajor === undefined) {
    warnings.push(
      `${pgDump} --version said "${line.slice(0, 80)}", not a PostgreSQL version: its version is not checked`,
    );
    return warnings;
  }
  for (const db of dumpedDatabases(config)) {
    const target = config.postgres[db];
    if (!target) continue;
    try {
      const num = await withClient(
        { ...clientConfig(db, target), connectionTimeoutMillis: Math.min(target.connectTimeoutMs, 5_000) },
        async (c) => {
          const r = await c.query<{ server_version_num: string }>('SHOW server_version_num');
          return r.rows[0].server_version_num;
        },
      );
      const server = serverMajor(num);
      if (dumpMajor < server)
        warnings.push(
          `pg_dump is version ${dumpMajor} (${pgDump}) but postgres.${db} runs PostgreSQL ${server}: pg_dump refuses a newer server, ` +
            `so backups of ${db} will fail; install pg_dump ${server} or newer (postgresql-client-${server})`,
        );
    } catch (err) {
      warnings.push(
        `postgres.${db} could not be asked its version (${(err as Error).message}): pg_dump ${dumpMajor} is not compared with it`,
      );
    }
  }
  return warnings;
}

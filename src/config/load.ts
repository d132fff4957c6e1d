import { readFileSync, existsSync } from 'node:fs';
import { extname, relative, resolve, isAbsolute } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { opsflowConfig, type OpsflowConfig } from './schema';
import { parseOrThrow, ValidationError } from './errors';

const DEFAULT_CONFIG_PATH = 'opsflow.config.yaml';

/** Where a config file was found, and by which rule (said in start-up lines and messages). */
export interface FoundConfig {
  /** Absolute path; undefined when no rule found a file. */
  path?: string;
  how: 'given' | 'OPSFLOW_CONFIG' | 'working directory' | 'none';
}

/**
 * The one lookup of the config file, for the worker, `npm run dev` and the CLI: an explicit path
 * (argument or --config), then $OPSFLOW_CONFIG, then ./opsflow.config.yaml in the working directory.
 */
export function findConfig(explicit?: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): FoundConfig {
  if (explicit) return { path: resolve(cwd, explicit), how: 'given' };
  if (env.OPSFLOW_CONFIG) return { path: resolve(cwd, env.OPSFLOW_CONFIG), how: 'OPSFLOW_CONFIG' };
  const local = resolve(cwd, DEFAULT_CONFIG_PATH);
  return existsSync(local) ? { path: local, how: 'working directory' } : { how: 'none' };
}

/** The config file's path by findConfig's rules. */
function configPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findConfig(explicit, env).path;
}

/** A path as people read it in messages: relative to the working directory when it lies below it. */
export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

export function parseConfigText(text: string, source: string): OpsflowConfig {
  let raw: unknown;
  try {
    raw = extname(source) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ValidationError(`config ${source}`, `cannot parse: ${(err as Error).message}`);
  }
  return parseOrThrow(opsflowConfig, raw ?? {}, `config ${source}`);
}

/** Reads and validates the config file at `path`; no path means the empty config (nothing to act on). */
export function readConfigFile(path: string | undefined): OpsflowConfig {
  if (!path) return parseOrThrow(opsflowConfig, {}, 'config');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ValidationError(`config ${path}`, `cannot read: ${(err as Error).message}`);
  }
  return parseConfigText(text, path);
}

/** Loads and validates the operator config found by findConfig; no file means an empty config. */
export function loadConfig(explicit?: string, env: NodeJS.ProcessEnv = process.env): OpsflowConfig {
  return readConfigFile(configPath(explicit, env));
}

/**
 * One line saying which config a process runs with, and what running without one means: an
 * operator must never mistake "no targets configured" for "all targets healthy".
 */
export function describeConfig(found: FoundConfig, config: OpsflowConfig, cwd = process.cwd()): string {
  if (!found.path) {
    return (
      `no config file found (no path given, $OPSFLOW_CONFIG unset, no ${DEFAULT_CONFIG_PATH} in ${cwd}): ` +
      'running with an empty config, so no targets are configured — a health check covers only this ' +
      "host's CPU, memory and disk and notifies nobody, and a rollout, migration or incident that names " +
      'a load balancer, database or notifier fails as unknown'
    );
  }
  const how =
    found.how === 'given' ? 'given' : found.how === 'OPSFLOW_CONFIG' ? 'from $OPSFLOW_CONFIG' : `found in ${cwd}`;
  const sections: [string, Record<string, unknown>][] = [
    ['http', config.http],
    ['postgres', config.postgres],
    ['redis', config.redis],
    ['hosts', config.hosts],
    ['loadBalancers', config.loadBalancers],
    ['metricSources', config.metricSources],
    ['notifiers', config.notifiers],
  ];
  const named = sections.filter(([, s]) => Object.keys(s).length > 0).map(([n, s]) => `${n} ${Object.keys(s).length}`);
  if (config.systemd.units.length) named.push(`systemd units ${config.systemd.units.length}`);
  return `config ${found.path} (${how}): ${named.length ? named.join(', ') : 'no targets configured'}`;
}

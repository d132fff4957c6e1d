import { readFileSync, existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { opsflowConfig, type OpsflowConfig } from './schema';
import { parseOrThrow, ValidationError } from './errors';

export const DEFAULT_CONFIG_PATH = 'opsflow.config.yaml';

/** The config file's path: an explicit flag, then OPSFLOW_CONFIG, then ./opsflow.config.yaml. */
export function configPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = explicit ?? env.OPSFLOW_CONFIG;
  if (path) return resolve(path);
  return existsSync(DEFAULT_CONFIG_PATH) ? resolve(DEFAULT_CONFIG_PATH) : undefined;
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

/** Loads and validates the operator config; no file means an empty config (nothing to act on). */
export function loadConfig(explicit?: string, env: NodeJS.ProcessEnv = process.env): OpsflowConfig {
  const path = configPath(explicit, env);
  if (!path) return parseOrThrow(opsflowConfig, {}, 'config');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ValidationError(`config ${path}`, `cannot read: ${(err as Error).message}`);
  }
  return parseConfigText(text, path);
}

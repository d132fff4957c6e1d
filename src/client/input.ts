import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseOrThrow, ValidationError } from '../config/errors';
import type { WorkflowEntry } from './registry';
import type { OpsflowConfig } from '../config/schema';
import { describeUnknownName } from '../domain/config-names';

/** `--input` is inline JSON or a path to a JSON (or YAML) file. */
export function readInputArg(arg: string | undefined): unknown {
  if (arg === undefined) return {};
  const trimmed = arg.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return parseJson(trimmed, '--input');
  if (!existsSync(arg)) throw new ValidationError('--input', `not JSON and no such file: ${arg}`);
  const text = readFileSync(arg, 'utf8');
  if (/\.ya?ml$/i.test(arg)) {
    try {
      return parseYaml(text);
    } catch (err) {
      throw new ValidationError(arg, `not valid YAML: ${(err as Error).message}`);
    }
  }
  return parseJson(text, arg);
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(where, `not valid JSON: ${(err as Error).message}`);
  }
}

/** Validates with the workflow's own schema, before anything is started. */
export function validateInput(entry: WorkflowEntry, raw: unknown): unknown {
  return parseOrThrow(entry.input, raw, `${entry.type} input`);
}

/**
 * Whether a config names any target an input can refer to. An operator's CLI config may carry only
 * the connection and the encryption keys (it needs no database password to encrypt what it sends):
 * it names none, and the workers' config judges the names.
 */
export function namesTargets(config: OpsflowConfig): boolean {
  const named = [
    config.http,
    config.postgres,
    config.redis,
    config.hosts,
    config.notifiers,
    config.loadBalancers,
    config.metricSources,
    config.backups,
    config.directories,
    config.routers,
    config.deploy.services,
    config.readiness.checklists,
  ];
  return named.some((targets) => Object.keys(targets).length > 0);
}

/**
 * Checks the names a validated input uses (load balancers, databases, notifiers, ...) against the
 * config, named `configName` in the message: one line per unknown name, naming its field.
 */
export function checkInputNames(entry: WorkflowEntry, input: unknown, config: OpsflowConfig, configName: string): void {
  const unknown = entry.inputNames(input, config);
  if (unknown.length)
    throw new ValidationError(`${entry.type} input`, unknown.map((u) => describeUnknownName(u, configName)).join('\n'));
}

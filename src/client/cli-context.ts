import type { Client } from '@temporalio/client';
import type { OpsflowConfig } from '../config/schema';
import { displayPath, findConfig, readConfigFile, type FoundConfig } from '../config/load';
import { connectClient, temporalSettings } from './connection';
import { dataConverterFor } from './codec/data-converter';

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {}

/** The command has said what it had to (e.g. a refusal, on stdout); only the exit code is left. */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** What every command needs, made lazily so that `--help` and input errors need no server. */
export class CliContext {
  private client?: Client;
  private cfg?: OpsflowConfig;
  constructor(private readonly globals: () => { config?: string; address?: string; namespace?: string }) {}

  /** The config file as the worker finds it: --config, then $OPSFLOW_CONFIG, then ./opsflow.config.yaml. */
  configFile(): FoundConfig {
    return findConfig(this.globals().config);
  }

  /** The config file's name for messages ("opsflow.config.yaml"), or undefined when there is none. */
  configName(): string | undefined {
    const path = this.configFile().path;
    return path && displayPath(path);
  }

  config(): OpsflowConfig {
    return (this.cfg ??= readConfigFile(this.configFile().path));
  }

  async temporal(): Promise<Client> {
    if (!this.client) {
      const g = this.globals();
      const settings = temporalSettings(process.env, { address: g.address, namespace: g.namespace });
      // The config's encryption, so that what the CLI starts, signals and reads is encrypted as the worker's is.
      this.client = await connectClient(settings, dataConverterFor(this.config(), settings.namespace));
    }
    return this.client;
  }

  async close(): Promise<void> {
    await this.client?.connection.close();
  }
}

/** A listing's `--limit`: how many rows it shows. */
export function limitOf(raw: string): number {
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit: a whole number of at least 1');
  return limit;
}

export const print = (value: unknown) =>
  process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);

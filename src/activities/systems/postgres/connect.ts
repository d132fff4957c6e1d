import { Client, type ClientConfig } from 'pg';
import type { PostgresTarget } from '../../../config/sections/targets';
import { resolveOptionalSecret } from '../../../config/secrets';
import { openTarget, type TargetRef } from '../../config-target';

/**
 * Which config entry (and field) a connection's settings came from. It rides on the settings
 * themselves, through every spread and helper that takes them, so whatever finally connects can
 * name the entry when the connect fails.
 */
const TARGET = Symbol('opsflow postgres target');
export type PostgresClientConfig = ClientConfig & { readonly [TARGET]?: TargetRef };

/**
 * Connection settings of a named database, its password resolved from env or file; `field` is the
 * input or config field that named it, said when the database cannot be reached.
 */
export function clientConfig(name: string, target: PostgresTarget, field?: string): PostgresClientConfig {
  return {
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    password: resolveOptionalSecret(target.password, `postgres.${name}.password`),
    connectionTimeoutMillis: target.connectTimeoutMs,
    application_name: 'opsflow',
    [TARGET]: { section: 'postgres', name, field },
  };
}

/** The config entry settings were made from, if they were (see `clientConfig`). */
const targetOf = (config: ClientConfig): TargetRef | undefined => (config as PostgresClientConfig)[TARGET];

/** Connects `client`, naming the config entry of `config` when it cannot. */
export const connectNamed = (client: { connect(): Promise<unknown> }, config: ClientConfig): Promise<unknown> =>
  openTarget(targetOf(config), () => client.connect());

/** Runs `fn` with a fresh client and always closes it. */
export async function withClient<T>(config: ClientConfig, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client(config);
  client.on('error', () => undefined); // a dropped connection surfaces through the query instead
  try {
    await connectNamed(client, config);
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

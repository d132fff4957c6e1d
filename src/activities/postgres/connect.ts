import { Client, type ClientConfig } from 'pg';
import type { PostgresTarget } from '../../config/sections/targets';
import { resolveOptionalSecret } from '../../config/secrets';

/** Connection settings of a named database, its password resolved from env or file. */
export function clientConfig(name: string, target: PostgresTarget): ClientConfig {
  return {
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    password: resolveOptionalSecret(target.password, `postgres.${name}.password`),
    connectionTimeoutMillis: target.connectTimeoutMs,
    application_name: 'opsflow',
  };
}

/** Runs `fn` with a fresh client and always closes it. */
export async function withClient<T>(config: ClientConfig, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client(config);
  client.on('error', () => undefined); // a dropped connection surfaces through the query instead
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

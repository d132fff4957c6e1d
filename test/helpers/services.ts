import { Client } from 'pg';
import Redis from 'ioredis';

/**
 * The machine's PostgreSQL and Redis (scripts/setup.sh starts them when they are installed but
 * stopped). A test that needs one and cannot reach it fails with the service's name: never a skip.
 */
export const pgConnection = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'postgres',
  database: process.env.PGDATABASE ?? 'test',
};
export const redisConnection = {
  host: process.env.REDIS_HOST ?? '127.0.0.1',
  port: Number(process.env.REDIS_PORT ?? 6379),
};

export async function requirePostgres(): Promise<void> {
  const client = new Client({ ...pgConnection, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw new Error(
      `PostgreSQL is needed at ${pgConnection.host}:${pgConnection.port} db ${pgConnection.database} ` +
        `(run scripts/setup.sh, or set PGHOST/PGPORT/PGDATABASE): ${(err as Error).message}`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function requireRedis(): Promise<void> {
  const redis = new Redis({
    ...redisConnection,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(
      `Redis is needed at ${redisConnection.host}:${redisConnection.port} (run scripts/setup.sh, or set REDIS_HOST/REDIS_PORT): ${(err as Error).message}`,
    );
  } finally {
    redis.disconnect();
  }
}

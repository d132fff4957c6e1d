import Redis from 'ioredis';
import type { RedisTarget } from '../../config/sections/targets';
import { resolveOptionalSecret } from '../../config/secrets';

/**
 * A connection to a named Redis that does not retry or queue (a check or a sample must fail fast,
 * not hang); the caller connects, and always disconnects.
 */
export function redisClient(name: string, target: RedisTarget): Redis {
  const redis = new Redis({
    host: target.host,
    port: target.port,
    db: target.db,
    ...(target.username ? { username: target.username } : {}),
    password: resolveOptionalSecret(target.password, `redis.${name}.password`),
    connectTimeout: target.connectTimeoutMs,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  return redis;
}

/** A number from an INFO section (`connected_clients:3`); NaN when absent. */
export const infoField = (info: string, field: string) => Number(new RegExp(`^${field}:(\\d+(?:\\.\\d+)?)`, 'm').exec(info)?.[1]);

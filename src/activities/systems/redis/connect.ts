import Redis from 'ioredis';
import type { RedisTarget } from '../../../config/sections/targets';
import { resolveOptionalSecret } from '../../../config/secrets';
import { openTarget } from '../../config-target';

/**
 * A connection to a named Redis that does not retry or queue (a check or a sample must fail fast,
 * not hang); the caller connects, and always disconnects. A connect that fails names the config
 * entry and `field`, the input or config field that named it.
 */
export function redisClient(name: string, target: RedisTarget, field?: string): Redis {
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
  // ioredis rejects a failed connect with "Connection is closed." and says why only in an event.
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => (lastError = err));
  // Every opening goes through the shared helper, whichever caller connects.
  const connect = redis.connect.bind(redis);
  redis.connect = () =>
    openTarget({ section: 'redis', name, field }, async () => {
      lastError = undefined;
      try {
        await connect();
      } catch (err) {
        throw lastError ?? err;
      }
    });
  return redis;
}

/** A number from an INFO section (`connected_clients:3`); NaN when absent. */
export const infoField = (info: string, field: string) =>
  Number(new RegExp(`^${field}:(\\d+(?:\\.\\d+)?)`, 'm').exec(info)?.[1]);

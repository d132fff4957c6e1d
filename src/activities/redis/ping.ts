import Redis from 'ioredis';
import type { RedisTarget } from '../../config/sections/targets';
import { resolveOptionalSecret } from '../../config/secrets';

/** PING and the connected client count, on a connection that does not retry (a check must not hang). */
export async function pingRedis(name: string, target: RedisTarget): Promise<{ ok: boolean; clients?: number; error?: string }> {
  const redis = new Redis({
    host: target.host,
    port: target.port,
    db: target.db,
    password: resolveOptionalSecret(target.password, `redis.${name}.password`),
    connectTimeout: target.connectTimeoutMs,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const pong = await redis.ping();
    const info = await redis.info('clients');
    const clients = Number(/connected_clients:(\d+)/.exec(info)?.[1]);
    return { ok: pong === 'PONG', clients };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  } finally {
    redis.disconnect();
  }
}

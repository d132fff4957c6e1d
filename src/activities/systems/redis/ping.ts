import type { RedisTarget } from '../../../config/sections/targets';
import { infoField, redisClient } from './connect';

/** PING, the connected client count and used memory, on a connection that does not retry (a check must not hang). */
export async function pingRedis(
  name: string,
  target: RedisTarget,
  field?: string,
): Promise<{ ok: boolean; clients?: number; usedMemoryBytes?: number; error?: string }> {
  const redis = redisClient(name, target, field);
  try {
    await redis.connect();
    const pong = await redis.ping();
    const clients = infoField(await redis.info('clients'), 'connected_clients');
    const usedMemoryBytes = infoField(await redis.info('memory'), 'used_memory');
    return { ok: pong === 'PONG', clients, usedMemoryBytes };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  } finally {
    redis.disconnect();
  }
}

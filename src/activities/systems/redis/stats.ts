import type { RedisTarget } from '../../../config/sections/targets';
import type { RedisSample } from '../../../domain/baseline/samples';
import { infoField, redisClient } from './connect';

/** Clients, memory in use and the cumulative keyspace hit/miss counters, from one INFO. */
export async function redisStats(name: string, target: RedisTarget, field?: string): Promise<RedisSample> {
  const redis = redisClient(name, target, field);
  try {
    await redis.connect();
    const info = await redis.info();
    return {
      clients: infoField(info, 'connected_clients'),
      usedMemoryBytes: infoField(info, 'used_memory'),
      keyspaceHits: infoField(info, 'keyspace_hits'),
      keyspaceMisses: infoField(info, 'keyspace_misses'),
    };
  } finally {
    redis.disconnect();
  }
}

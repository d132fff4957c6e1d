import type { RedisRouterConfig } from '../../config/sections/cutover';
import type { OpsflowConfig } from '../../config/schema';
import { configTarget } from '../config-target';
import { redisClient } from '../redis/connect';
import type { Router } from './router';

/** The hash a gateway reads for a service: `opsflow:routes:portal` → { userId: system }. */
export const routingKey = (d: RedisRouterConfig, service: string) => d.key.replace(/\$service/g, service);

/**
 * Routing data in a Redis hash. A chunk is one pipeline: the write (one HSET/HDEL for the whole
 * chunk) and its read-back (one HMGET) in a single round trip, so reading back costs next to nothing
 * and the count returned is what Redis holds, not what was sent.
 */
export function redisRouter(config: OpsflowConfig, name: string, d: RedisRouterConfig, service: string): Router {
  const target = configTarget(config.redis, 'redis', d.redis, `config.routers.${name}.redis`);
  const redis = redisClient(d.redis, target);
  const key = routingKey(d, service);
  let connected: Promise<void> | undefined;
  const ready = () => (connected ??= redis.connect());
  const readBack = async (p: ReturnType<typeof redis.pipeline>, ids: string[]) => {
    p.hmget(key, ...ids);
    const results = (await p.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    return results[results.length - 1][1] as (string | null)[];
  };
  return {
    systems: d.systems,
    readable: true,
    async read(ids) {
      if (ids.length === 0) return [];
      await ready();
      return redis.hmget(key, ...ids);
    },
    async write(ids, system) {
      if (ids.length === 0) return 0;
      await ready();
      const p = redis.pipeline();
      p.hset(key, Object.fromEntries(ids.map((id) => [id, system])));
      return (await readBack(p, ids)).filter((s) => s === system).length;
    },
    async restore(ids, priors) {
      if (ids.length === 0) return 0;
      await ready();
      const p = redis.pipeline();
      const set = ids.flatMap((id, i) => (priors[i] === null ? [] : [id, priors[i] as string]));
      const unset = ids.filter((_, i) => priors[i] === null);
      if (set.length > 0) p.hset(key, ...set);
      if (unset.length > 0) p.hdel(key, ...unset);
      return (await readBack(p, ids)).filter((s, i) => s === priors[i]).length;
    },
    async close() {
      if (connected) await redis.quit().catch(() => redis.disconnect());
    },
  };
}

import type { RedisRouterConfig } from '../../../config/sections/cutover';
import type { OpsflowConfig } from '../../../config/schema';
import { configTarget } from '../../config-target';
import { redisClient } from '../redis/connect';
import { readBackResult, type Router } from './router';

/** The hash a gateway reads for a service: `opsflow:routes:portal` → { userId: system }. */
const routingKey = (d: RedisRouterConfig, service: string) => d.key.replace(/\$service/g, service);

/**
 * Routes a chunk to one system and reads it back, in one script: KEYS[1] the routing hash,
 * ARGV[1] the system, ARGV[2] the chunk's ids separated by NUL (one argument rather than one per
 * user: encoding 10 000 arguments and parsing 10 000 answers was most of a move's time in the
 * worker). Works in slices of 1 000, below the Lua stack's limit on unpack; each slice is read
 * back with HMGET after its HSET and only the count of users holding the system comes back, with
 * the first 5 users that do not (for the message that stops the batch).
 */
const ROUTE_SCRIPT = `
local key, system = KEYS[1], ARGV[1]
local routed = 0
local missed = {}
local ids, pairs = {}, {}
local function flush()
  if #ids == 0 then return end
  redis.call('HSET', key, unpack(pairs))
  local got = redis.call('HMGET', key, unpack(ids))
  for i = 1, #got do
    if got[i] == system then routed = routed + 1 elseif #missed < 5 then missed[#missed + 1] = ids[i] end
  end
  ids, pairs = {}, {}
end
for id in string.gmatch(ARGV[2], '[^%z]+') do
  ids[#ids + 1] = id
  pairs[#pairs + 1] = id
  pairs[#pairs + 1] = system
  if #ids == 1000 then flush() end
end
flush()
return {routed, unpack(missed)}`;

/**
 * Reads a chunk's routes, in one script: ARGV[1] the ids separated by NUL, as ROUTE_SCRIPT takes
 * them; one string comes back, each user's route or '' for none, separated by NUL, then the
 * positions (1-based, comma-separated) of users whose route really is ''. An `HMGET` of 10 000
 * users cost the worker ~4 ms of encoding and answer parsing per chunk, most of the priors pass,
 * while Redis spent 0.1 ms on it.
 */
const READ_SCRIPT = `
local key = KEYS[1]
local out, empty, ids = {}, {}, {}
local function flush()
  if #ids == 0 then return end
  local got = redis.call('HMGET', key, unpack(ids))
  for i = 1, #got do
    local v = got[i]
    if not v then v = '' elseif v == '' then empty[#empty + 1] = #out + 1 end
    out[#out + 1] = v
  end
  ids = {}
end
for id in string.gmatch(ARGV[1], '[^%z]+') do
  ids[#ids + 1] = id
  if #ids == 1000 then flush() end
end
flush()
return {table.concat(out, '\\0'), table.concat(empty, ',')}`;

type WithRoute = {
  opsflowRoute(key: string, system: string, ids: string): Promise<[number, ...string[]]>;
  opsflowRead(key: string, ids: string): Promise<[string, string]>;
};

/** Ids the scripts cannot take: they split on NUL, and an empty id would vanish from the split. */
const unsplittable = (ids: string[]) => ids.find((id) => id === '' || id.includes('\0'));

/** Redis refused a script to this user (an ACL without `@scripting`, as some managed services set). */
const scriptsRefused = (err: unknown) =>
  /^NOPERM\b.*\b(eval|evalsha|script)\b/i.test(String((err as Error)?.message ?? ''));

/**
 * Routing data in a Redis hash. A move is one script call per chunk (write and read-back together,
 * see ROUTE_SCRIPT), or, for a user that may not run scripts, one pipeline of HSET and HMGET; a
 * restore is one pipeline (HSET/HDEL and an HMGET) in a single round trip. Either way the count
 * returned is what Redis holds, not what was sent.
 */
export function redisRouter(config: OpsflowConfig, name: string, d: RedisRouterConfig, service: string): Router {
  const target = configTarget(config.redis, 'redis', d.redis, `config.routers.${name}.redis`);
  const redis = redisClient(d.redis, target, `config.routers.${name}.redis`);
  const key = routingKey(d, service);
  redis.defineCommand('opsflowRoute', { numberOfKeys: 1, lua: ROUTE_SCRIPT });
  redis.defineCommand('opsflowRead', { numberOfKeys: 1, lua: READ_SCRIPT });
  let connected: Promise<void> | undefined;
  let scripts = true;
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
      if (scripts && unsplittable(ids) === undefined) {
        try {
          const [joined, empty] = await (redis as unknown as WithRoute).opsflowRead(key, ids.join('\0'));
          const got: (string | null)[] = joined.split('\0').map((v) => (v === '' ? null : v));
          for (const at of empty ? empty.split(',') : []) got[Number(at) - 1] = '';
          // A route holding NUL splits into more parts than users: read that chunk plainly.
          if (got.length === ids.length) return got;
        } catch (err) {
          if (!scriptsRefused(err)) throw err;
          scripts = false;
        }
      }
      return redis.hmget(key, ...ids);
    },
    async write(ids, system) {
      if (ids.length === 0) return { verified: 0, missed: [] };
      // Ids come from PostgreSQL text, which cannot hold NUL; an empty id would vanish from the split.
      const bad = unsplittable(ids);
      if (bad !== undefined)
        throw new Error(`user id ${JSON.stringify(bad)} cannot be routed through Redis: empty or holding NUL`);
      await ready();
      if (scripts) {
        try {
          const [verified, ...missed] = await (redis as unknown as WithRoute).opsflowRoute(key, system, ids.join('\0'));
          return { verified, missed };
        } catch (err) {
          if (!scriptsRefused(err)) throw err;
          scripts = false;
        }
      }
      const p = redis.pipeline();
      p.hset(key, ...ids.flatMap((id) => [id, system]));
      return readBackResult(ids, await readBack(p, ids), () => system);
    },
    async restore(ids, priors) {
      if (ids.length === 0) return { verified: 0, missed: [] };
      await ready();
      const p = redis.pipeline();
      const set = ids.flatMap((id, i) => (priors[i] === null ? [] : [id, priors[i] as string]));
      const unset = ids.filter((_, i) => priors[i] === null);
      if (set.length > 0) p.hset(key, ...set);
      if (unset.length > 0) p.hdel(key, ...unset);
      return readBackResult(ids, await readBack(p, ids), (i) => priors[i]);
    },
    async close() {
      if (connected) await redis.quit().catch(() => redis.disconnect());
    },
  };
}

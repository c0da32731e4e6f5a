import { createHash } from "node:crypto";
import {
  assertValid,
  checkKeyPackageIds,
  checkPoolKey,
  checkPoolLists,
  type PoolRedisKeys,
  poolRedisKeys,
} from "./pool-key";
import { type ClaimsRedisSource, connectClaimsRedis, duringOutageUnavailable } from "./redis-connection";
import type { ClaimedFromPools, ClaimedKeyPackage, ClaimPoolCount, ClaimPoolKey, ClaimStore } from "./types";

export const DEFAULT_CLAIM_KEY_PREFIX = "mimi:kp:";

/**
 * Its own connection from `url` (`openClaimsRedis`: error listener, bounded command waits,
 * reconnection; quit on close), or a caller-owned client or cluster (left open). Commands issued in
 * the same event-loop turn go out in one write (ioredis auto-pipelining) unless `autoPipelining` is
 * false: a write to another process costs far more than the bytes in it, so busy claim traffic needs
 * far fewer of them.
 */
export type RedisClaimStoreOptions = ClaimsRedisSource & { keyPrefix?: string };

interface LuaScript {
  source: string;
  sha1: string;
}

function luaScript(source: string): LuaScript {
  return { source, sha1: createHash("sha1").update(source).digest("hex") };
}

// KEYS[1] available (sorted set), ARGV ids. New ids get scores after the current newest, so the pool
// hands out oldest first; ids already present keep their place.
const ADD_SCRIPT = luaScript(`
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local score = 0
if newest[2] then score = tonumber(newest[2]) end
for i = 1, #ARGV do
  if not redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    score = score + 1
    redis.call('ZADD', KEYS[1], score, ARGV[i])
  end
end
return 0
`);

// KEYS[1] available, KEYS[2] last resort. Pop and fallback happen in one script, so two claims can
// never pop the same id, and a claim never sees the pool as empty while ids remain.
const CLAIM_SCRIPT = luaScript(`
local popped = redis.call('ZPOPMIN', KEYS[1])
if popped[1] then return {popped[1], 0} end
local lastResort = redis.call('GET', KEYS[2])
if lastResort then return {lastResort, 1} end
return false
`);

// KEYS: available and last resort of each pool, list after list; ARGV[1] the number of lists, then
// each list's pool count. Per list, {pool index, id, 0|1} from its first pool holding something, or {}.
const CLAIM_FIRST_SCRIPT = luaScript(`
local replies = {}
local key = 1
for list = 1, tonumber(ARGV[1]) do
  local size = tonumber(ARGV[list + 1])
  local reply = {}
  for pool = 0, size - 1 do
    local popped = redis.call('ZPOPMIN', KEYS[key + 2 * pool])
    if popped[1] then
      reply = {pool, popped[1], 0}
      break
    end
    local lastResort = redis.call('GET', KEYS[key + 2 * pool + 1])
    if lastResort then
      reply = {pool, lastResort, 1}
      break
    end
  end
  replies[list] = reply
  key = key + 2 * size
end
return replies
`);

// KEYS[1] available, KEYS[2] last resort, ARGV ids. One ZREM per id avoids Lua's unpack() size limit.
const REMOVE_SCRIPT = luaScript(`
local lastResort = redis.call('GET', KEYS[2])
for i = 1, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
  if ARGV[i] == lastResort then redis.call('DEL', KEYS[2]) end
end
return 0
`);

/** Reads the claim script's reply: [id, 0|1] or null. */
export function parseClaimReply(reply: unknown): ClaimedKeyPackage | null {
  if (reply === null || reply === undefined) return null;
  if (!Array.isArray(reply) || reply.length !== 2) throw new Error("unexpected claim script reply");
  const [id, flag] = reply;
  const keyPackageId = Buffer.isBuffer(id) ? id.toString("utf8") : id;
  if (typeof keyPackageId !== "string" || (flag !== 0 && flag !== 1))
    throw new Error("unexpected claim script reply");
  return { keyPackageId, lastResort: flag === 1 };
}

/** Reads the claim-first script's reply: per list, [pool index, id, 0|1] or an empty array. */
export function parseClaimFirstReply(reply: unknown, lists: number): Array<ClaimedFromPools | null> {
  if (!Array.isArray(reply) || reply.length !== lists) throw new Error("unexpected claimFirst script reply");
  return reply.map((entry: unknown) => {
    if (Array.isArray(entry) && entry.length === 0) return null;
    if (!Array.isArray(entry) || entry.length !== 3) throw new Error("unexpected claimFirst script reply");
    const [poolIndex, ...claim] = entry;
    if (typeof poolIndex !== "number") throw new Error("unexpected claimFirst script reply");
    const claimed = parseClaimReply(claim);
    if (!claimed) throw new Error("unexpected claimFirst script reply");
    return { ...claimed, poolIndex };
  });
}

/**
 * Claim store on Redis (standalone or Cluster). Every multi-key step is one Lua script over keys that
 * share the user's hash tag, so it is atomic and cluster-safe. An outage (connection down, command
 * timed out) rejects with `ClaimStateUnavailableError`.
 */
export function createRedisClaimStore(options: RedisClaimStoreOptions): ClaimStore {
  const { redis, release } = connectClaimsRedis(options);
  const prefix = options.keyPrefix ?? DEFAULT_CLAIM_KEY_PREFIX;
  let closed = false;

  function enter(pool: ClaimPoolKey, ids: readonly string[] = []): PoolRedisKeys {
    if (closed) throw new Error("claim store is closed");
    assertValid(checkPoolKey(pool));
    assertValid(checkKeyPackageIds(ids));
    return poolRedisKeys(prefix, pool);
  }

  // EVALSHA first; the full script is sent only when the server does not have it cached yet.
  function run(script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return duringOutageUnavailable(async () => {
      try {
        return await redis.evalsha(script.sha1, keys.length, ...keys, ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
        return redis.eval(script.source, keys.length, ...keys, ...args);
      }
    });
  }

  return {
    async add(pool, keyPackageIds) {
      const keys = enter(pool, keyPackageIds);
      if (keyPackageIds.length === 0) return;
      await run(ADD_SCRIPT, [keys.available], keyPackageIds);
    },

    async setLastResort(pool, keyPackageId) {
      const keys = enter(pool, [keyPackageId]);
      await duringOutageUnavailable(() => redis.set(keys.lastResort, keyPackageId));
    },

    async claim(pool) {
      const keys = enter(pool);
      return parseClaimReply(await run(CLAIM_SCRIPT, [keys.available, keys.lastResort], []));
    },

    async claimFirst(poolLists) {
      if (closed) throw new Error("claim store is closed");
      assertValid(checkPoolLists(poolLists));
      if (poolLists.length === 0) return [];
      const keys: string[] = [];
      const sizes: string[] = [String(poolLists.length)];
      for (const list of poolLists) {
        sizes.push(String(list.length));
        for (const pool of list) {
          const poolKeys = poolRedisKeys(prefix, pool);
          keys.push(poolKeys.available, poolKeys.lastResort);
        }
      }
      return parseClaimFirstReply(await run(CLAIM_FIRST_SCRIPT, keys, sizes), poolLists.length);
    },

    async remove(pool, keyPackageIds) {
      const keys = enter(pool, keyPackageIds);
      if (keyPackageIds.length === 0) return;
      await run(REMOVE_SCRIPT, [keys.available, keys.lastResort], keyPackageIds);
    },

    async count(pool): Promise<ClaimPoolCount> {
      const keys = enter(pool);
      const replies = await duringOutageUnavailable(() =>
        redis.multi().zcard(keys.available).exists(keys.lastResort).exec(),
      );
      if (!replies) throw new Error("count transaction was aborted");
      const [available, lastResort] = replies.map(([error, value]) => {
        if (error) throw error;
        if (typeof value !== "number") throw new Error("unexpected count reply");
        return value;
      });
      return { available: available ?? 0, hasLastResort: (lastResort ?? 0) > 0 };
    },

    async close() {
      if (closed) return;
      closed = true;
      await release();
    },
  };
}

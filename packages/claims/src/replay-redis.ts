import { assertValid } from "./pool-key";
import { type ClaimsRedisSource, connectClaimsRedis, duringOutageUnavailable } from "./redis-connection";
import { checkReplayUse, type ReplayGuard } from "./replay";

export const DEFAULT_REPLAY_KEY_PREFIX = "mimi:replay:";

/** Its own connection from `url` (quit on close), or a caller-owned client or cluster (left open). */
export type RedisReplayGuardOptions = ClaimsRedisSource & { keyPrefix?: string };

/**
 * Replay guard on Redis: one `SET <prefix><key> 1 NX EX <ttl>` per use, so every replica sharing the
 * server sees every use, and Redis forgets a key when its time is up. A single key per call, so it is
 * Redis Cluster safe. An outage rejects with `ClaimStateUnavailableError`.
 */
export function createRedisReplayGuard(options: RedisReplayGuardOptions): ReplayGuard {
  const { redis, release } = connectClaimsRedis(options);
  const prefix = options.keyPrefix ?? DEFAULT_REPLAY_KEY_PREFIX;
  let closed = false;

  return {
    async firstUse(key, ttlSeconds) {
      if (closed) throw new Error("replay guard is closed");
      assertValid(checkReplayUse(key, ttlSeconds));
      const reply = await duringOutageUnavailable(() =>
        redis.set(`${prefix}${key}`, "1", "EX", ttlSeconds, "NX"),
      );
      return reply === "OK";
    },

    async close() {
      if (closed) return;
      closed = true;
      await release();
    },
  };
}

import type { Cluster, Redis } from "ioredis";
import { assertValid } from "./pool-key";
import {
  type ClaimsRedisOptions,
  closeClaimsRedis,
  duringOutageUnavailable,
  openClaimsRedis,
} from "./redis-connection";
import { checkReplayUse, type ReplayGuard } from "./replay";

export const DEFAULT_REPLAY_KEY_PREFIX = "mimi:replay:";

export type RedisReplayGuardOptions =
  /** Opens (and on close, quits) its own connection. */
  | ({ url: string; keyPrefix?: string } & ClaimsRedisOptions)
  /** Uses a caller-owned client or cluster, which `close` leaves open. */
  | { redis: Redis | Cluster; keyPrefix?: string };

/**
 * Replay guard on Redis: one `SET <prefix><key> 1 NX EX <ttl>` per use, so every replica sharing the
 * server sees every use, and Redis forgets a key when its time is up. A single key per call, so it is
 * Redis Cluster safe. An outage rejects with `ClaimStateUnavailableError`.
 */
export function createRedisReplayGuard(options: RedisReplayGuardOptions): ReplayGuard {
  let owned: Redis | undefined;
  let redis: Redis | Cluster;
  if ("url" in options) {
    owned = openClaimsRedis(options.url, options);
    redis = owned;
  } else {
    redis = options.redis;
  }
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
      if (owned) await closeClaimsRedis(owned);
    },
  };
}

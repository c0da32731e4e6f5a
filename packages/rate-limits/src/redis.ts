import { closeRedis, openRedis } from "@mimi/claims";
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis } from "rate-limiter-flexible";
import { checkRule, wrapLimiter } from "./limiter.js";
import type { RateLimiterBackend, RateLimitRule } from "./types.js";

/** Longest wait for one Redis command; a limiter must never hold a request for long. */
export const DEFAULT_RATE_LIMIT_REDIS_TIMEOUT_MS = 500;

export type RedisRateLimitersOptions = {
  /** Prefix of every key (default `mimi:rl:`); deployments sharing one Redis give each its own. */
  keyPrefix?: string;
} & (
  | {
      url: string;
      commandTimeoutMs?: number;
      /** Told about connection errors, once per outage. */
      onError?: (error: Error) => void;
    }
  | { redis: Redis }
);

/**
 * Counts in Redis, so every replica of a service spends from the same window (the split deployment).
 * While Redis cannot be reached each limiter counts in this process's memory instead (the library's
 * insurance limiter): limits hold per replica rather than failing every request or none.
 */
export function createRedisRateLimiters(
  options: RedisRateLimitersOptions,
): RateLimiterBackend & { ready(): Promise<void> } {
  const keyPrefix = options.keyPrefix ?? "mimi:rl:";
  const ownsClient = "url" in options;
  const redis = "url" in options ? openRateLimitRedis(options.url, options) : options.redis;
  let closed = false;
  return {
    kind: "redis",
    limiter(name, rule: RateLimitRule) {
      checkRule(name, rule);
      if (rule.points === 0) return wrapLimiter(name, rule, undefined);
      const common = {
        keyPrefix: `${keyPrefix}${name}`,
        points: rule.points,
        duration: rule.durationSeconds,
      };
      return wrapLimiter(
        name,
        rule,
        new RateLimiterRedis({
          ...common,
          storeClient: redis,
          // Not connected: answer from the insurance limiter at once instead of queueing the command.
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory(common),
        }),
      );
    },
    /** Resolves once the connection is up (until then the insurance limiter counts). */
    async ready() {
      if (redis.status === "ready") return;
      await new Promise<void>((resolve) => redis.once("ready", () => resolve()));
    },
    async close() {
      if (closed || !ownsClient) return;
      closed = true;
      await closeRedis(redis);
    },
  };
}

function openRateLimitRedis(
  url: string,
  options: { commandTimeoutMs?: number; onError?: (error: Error) => void },
): Redis {
  return openRedis(url, {
    commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_RATE_LIMIT_REDIS_TIMEOUT_MS,
    // Commands are not queued while disconnected: the insurance limiter answers meanwhile.
    offlineQueue: false,
    onError: options.onError,
  });
}

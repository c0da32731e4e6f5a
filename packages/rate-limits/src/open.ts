import { createMemoryRateLimiters } from "./memory.js";
import { createRedisRateLimiters } from "./redis.js";
import type { RateLimiterBackend } from "./types.js";

/**
 * The backend a service's settings ask for: Redis when `redisUrl` is set (replicas share counts),
 * else this process's memory (one process, as the standalone provider runs).
 */
export function openRateLimiters(options: {
  redisUrl?: string;
  keyPrefix?: string;
  onError?: (error: Error) => void;
}): RateLimiterBackend {
  if (!options.redisUrl) return createMemoryRateLimiters();
  return createRedisRateLimiters({
    url: options.redisUrl,
    ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }),
    ...(options.onError ? { onError: options.onError } : {}),
  });
}

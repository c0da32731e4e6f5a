import { type Logger, parse } from "@mimi/service-kit";
import { z } from "zod";
import { openRateLimiters } from "./open.js";
import type { RateLimiterBackend } from "./types.js";

/** Where a service's rate limits count: the settings of every service that has limits. */
export const rateLimitStoreConfigSpec = {
  redisUrl: {
    env: "REDIS_URL",
    schema: z.string(),
    default: "",
    description:
      "Redis for the rate-limit counts, shared by every replica (`redis://...`); empty keeps them in this process's memory",
  },
  rateLimitRedisPrefix: {
    env: "MIMI_RATE_LIMIT_REDIS_PREFIX",
    schema: parse.string(),
    default: "mimi:rl:",
    description: "prefix of the rate-limit keys in Redis, followed by the provider's domain",
  },
};

/**
 * A service's limiters as its settings ask: Redis when `redisUrl` is set, else this process's
 * memory (said in a warning where replicas would each count alone). The provider's domain is in
 * every key, so providers sharing one Redis never spend each other's windows.
 */
export function openServiceRateLimiters(
  settings: { redisUrl: string; rateLimitRedisPrefix: string },
  service: { domain: string; logger: Logger; replicated: boolean },
): RateLimiterBackend {
  if (service.replicated && !settings.redisUrl) {
    service.logger.warn("REDIS_URL is not set: rate limits count per replica, in memory");
  }
  return openRateLimiters({
    redisUrl: settings.redisUrl,
    keyPrefix: `${settings.rateLimitRedisPrefix}${service.domain}:`,
    onError: (error) =>
      service.logger.warn({ err: error }, "rate-limit Redis unavailable: counting in memory meanwhile"),
  });
}

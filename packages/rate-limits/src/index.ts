export {
  clientAddress,
  consumeOrRefuse,
  enforce,
  rateLimit,
  rateLimitAccepted,
  rateLimitedProblem,
} from "./http.js";
export { retryAfterSeconds } from "./limiter.js";
export { createMemoryRateLimiters } from "./memory.js";
export { openRateLimiters } from "./open.js";
export {
  createRedisRateLimiters,
  DEFAULT_RATE_LIMIT_REDIS_TIMEOUT_MS,
  type RedisRateLimitersOptions,
} from "./redis.js";
export { openServiceRateLimiters, rateLimitStoreConfigSpec } from "./service.js";
export { formatRule, rateLimitRuleSchema } from "./settings.js";
export type { RateLimitDecision, RateLimiter, RateLimiterBackend, RateLimitRule } from "./types.js";

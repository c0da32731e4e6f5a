import { RateLimiterMemory } from "rate-limiter-flexible";
import { checkRule, wrapLimiter } from "./limiter.js";
import type { RateLimiter, RateLimiterBackend, RateLimitRule } from "./types.js";

/**
 * Counts in this process's memory: for the standalone provider, where one process serves everything.
 * Limiters of one name share counts; a key's entry is dropped when its window ends.
 */
export function createMemoryRateLimiters(): RateLimiterBackend {
  const limiters = new Map<string, RateLimiter>();
  return {
    kind: "memory",
    limiter(name, rule: RateLimitRule) {
      checkRule(name, rule);
      const existing = limiters.get(name);
      if (existing) return existing;
      const limiter = wrapLimiter(
        name,
        rule,
        rule.points === 0
          ? undefined
          : new RateLimiterMemory({ keyPrefix: name, points: rule.points, duration: rule.durationSeconds }),
      );
      limiters.set(name, limiter);
      return limiter;
    },
    async close() {},
  };
}

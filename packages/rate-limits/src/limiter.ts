import { RateLimiterRes } from "rate-limiter-flexible";
import type { RateLimitDecision, RateLimiter, RateLimitRule } from "./types.js";

/** What both adapters wrap: the library's limiter, whose `consume` rejects with a result when limited. */
export interface LibraryLimiter {
  consume(key: string, points: number): Promise<RateLimiterRes>;
  get(key: string): Promise<RateLimiterRes | null>;
  delete(key: string): Promise<boolean>;
}

const ALLOWED_WITHOUT_LIMIT: RateLimitDecision = { allowed: true, remaining: Number.POSITIVE_INFINITY };

/** Checks a rule once, when a limiter is made, so a bad setting fails at boot rather than per request. */
export function checkRule(name: string, rule: RateLimitRule): void {
  if (!/^[a-z0-9][a-z0-9.-]{0,63}$/.test(name))
    throw new RangeError(`rate limit name ${JSON.stringify(name)} must be 1-64 of a-z, 0-9, '.', '-'`);
  if (!Number.isInteger(rule.points) || rule.points < 0)
    throw new RangeError(`rate limit ${name}: points must be a non-negative integer`);
  if (!Number.isInteger(rule.durationSeconds) || rule.durationSeconds <= 0)
    throw new RangeError(`rate limit ${name}: durationSeconds must be a positive integer`);
}

/** Whole seconds until a refused key may try again, at least one (a `Retry-After: 0` invites a retry storm). */
export function retryAfterSeconds(msBeforeNext: number): number {
  return Math.max(1, Math.ceil(msBeforeNext / 1000));
}

/** The one `RateLimiter` both adapters return; `library` is absent for a rule that is turned off. */
export function wrapLimiter(
  name: string,
  rule: RateLimitRule,
  library: LibraryLimiter | undefined,
): RateLimiter {
  return {
    name,
    rule,
    async consume(key, cost = 1) {
      if (!library) return ALLOWED_WITHOUT_LIMIT;
      try {
        const result = await library.consume(key, cost);
        return { allowed: true, remaining: result.remainingPoints };
      } catch (error) {
        // The library rejects with its result object when the key is over the limit, and with an Error
        // when the store failed and no insurance limiter answered.
        if (error instanceof RateLimiterRes)
          return { allowed: false, retryAfterSeconds: retryAfterSeconds(error.msBeforeNext) };
        throw error;
      }
    },
    async peek(key, cost = 1) {
      if (!library) return ALLOWED_WITHOUT_LIMIT;
      const spent = await library.get(key);
      if (!spent) return { allowed: true, remaining: rule.points };
      const remaining = rule.points - spent.consumedPoints;
      return remaining >= cost
        ? { allowed: true, remaining }
        : { allowed: false, retryAfterSeconds: retryAfterSeconds(spent.msBeforeNext) };
    },
    async reset(key) {
      if (library) await library.delete(key);
    },
  };
}

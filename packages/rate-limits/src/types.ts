/** How many points one key may spend in a window; `points: 0` turns the limit off. */
export interface RateLimitRule {
  points: number;
  durationSeconds: number;
}

/** The answer to one `consume`: allowed (with what is left of the window), or refused until later. */
export type RateLimitDecision =
  | { allowed: true; remaining: number }
  | { allowed: false; retryAfterSeconds: number };

/** One named limit (say, logins per account), counting per key. */
export interface RateLimiter {
  readonly name: string;
  readonly rule: RateLimitRule;
  /** Spends `cost` points (1 by default) of `key`'s window; refused once the window's points are spent. */
  consume(key: string, cost?: number): Promise<RateLimitDecision>;
  /**
   * Whether `key` could spend `cost` now, spending nothing: for limits counted only once a request
   * proved who sent it (a verified signature), checked before the work and spent after it.
   */
  peek(key: string, cost?: number): Promise<RateLimitDecision>;
  /** Forgets what `key` has spent (a successful login clears the failures before it, say). */
  reset(key: string): Promise<void>;
}

/**
 * Where the counts live. Limiters of the same name from one backend (or, for Redis, from backends
 * with the same key prefix) share their counts.
 */
export interface RateLimiterBackend {
  readonly kind: "memory" | "redis";
  limiter(name: string, rule: RateLimitRule): RateLimiter;
  /** Closes what the backend opened itself; idempotent. */
  close(): Promise<void>;
}

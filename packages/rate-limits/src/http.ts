import { ProblemError } from "@mimi/service-kit";
import type { Request, RequestHandler } from "express";
import type { RateLimitDecision, RateLimiter } from "./types.js";

/**
 * The answer to a limited request: 429 problem+json with `Retry-After` and `reason: rateLimited`,
 * naming the limit so a client (or its operator) can tell which one it ran into.
 */
export function rateLimitedProblem(
  limiter: RateLimiter,
  retryAfterSeconds: number,
  detail?: string,
): ProblemError {
  return new ProblemError(
    429,
    "Too Many Requests",
    detail ?? `too many requests; retry in ${retryAfterSeconds} s`,
    { reason: "rateLimited", limit: limiter.name },
    { "retry-after": String(retryAfterSeconds) },
  );
}

/** Throws the 429 problem for a refused decision; does nothing for an allowed one. */
export function enforce(limiter: RateLimiter, decision: RateLimitDecision, detail?: string): void {
  if (!decision.allowed) throw rateLimitedProblem(limiter, decision.retryAfterSeconds, detail);
}

/** Spends one point of `key` from `limiter` and throws the 429 problem when it is spent. */
export async function consumeOrRefuse(limiter: RateLimiter, key: string, detail?: string): Promise<void> {
  enforce(limiter, await limiter.consume(key), detail);
}

/**
 * Express middleware spending one point per request of the key `keyOf` gives (a request without a
 * key passes). Limited requests never reach the handler: they get the 429 problem from the app's
 * error mapper.
 */
export function rateLimit(
  limiter: RateLimiter,
  keyOf: (req: Request) => string | undefined,
  detail?: string,
): RequestHandler {
  return async (req, _res, next) => {
    const key = keyOf(req);
    if (key !== undefined) await consumeOrRefuse(limiter, key, detail);
    next();
  };
}

/** The client's address as express sees it (behind the trusted proxy), the key of per-address limits. */
export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? "unknown";
}

/**
 * Express middleware for limits that count only what was accepted: a request whose key has spent
 * its window gets the 429 problem; otherwise it passes, and a point of its key is spent when it is
 * answered with `acceptedStatus` (so refused or forged requests never spend anyone's window).
 */
export function rateLimitAccepted(
  limiter: RateLimiter,
  keyOf: (req: Request) => string | undefined,
  options: { acceptedStatus: number; detail?: string },
): RequestHandler {
  return async (req, res, next) => {
    const key = keyOf(req);
    if (key === undefined) {
      next();
      return;
    }
    enforce(limiter, await limiter.peek(key), options.detail);
    res.once("finish", () => {
      if (res.statusCode !== options.acceptedStatus) return;
      // Counting is best effort: a failed count must not fail a request already answered.
      limiter.consume(key).catch(() => {});
    });
    next();
  };
}

import { ClaimStateUnavailableError, ReplayGuardFullError } from "@mimi/claims";
import { type Logger, ProblemError } from "@mimi/service-kit";
import type { ErrorRequestHandler } from "express";

/** How long a client is asked to wait while the claim state's Redis is unreachable (it reconnects every 2 s at most). */
export const CLAIM_STATE_RETRY_AFTER_SECONDS = 5;

/**
 * The claim state out of reach (Redis down or too slow) or the in-memory replay guard full: 503 with
 * `Retry-After` rather than a 500, so senders come back later; nothing was handed out.
 */
export function claimStateOutage(logger: Logger): ErrorRequestHandler {
  return (error, req, _res, next) => {
    if (error instanceof ClaimStateUnavailableError) {
      logger.warn({ err: error.cause, path: req.path }, "claim state unavailable");
      next(
        new ProblemError(
          503,
          "Service Unavailable",
          "the claim state is unreachable; try again later",
          { reason: "claimStateUnavailable" },
          { "retry-after": String(CLAIM_STATE_RETRY_AFTER_SECONDS) },
        ),
      );
      return;
    }
    if (error instanceof ReplayGuardFullError) {
      logger.warn({ retryAfterSeconds: error.retryAfterSeconds }, "replay guard full");
      next(
        new ProblemError(
          503,
          "Service Unavailable",
          "too many signed claims are remembered right now; try again later",
          { reason: "replayGuardFull" },
          { "retry-after": String(error.retryAfterSeconds) },
        ),
      );
      return;
    }
    next(error);
  };
}

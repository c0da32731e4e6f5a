import { ProblemError } from "@mimi/service-kit";
import type { IdentityContext } from "../context.js";
import { WorkQueueFullError } from "../domain/fair-queue.js";

/**
 * Runs a password hash in identity's fair queue, keyed by the client address. A full queue is
 * answered at once rather than waited on: 429 when this address already has its share hashing or
 * waiting, 503 when the whole queue is full. Both carry `Retry-After`.
 */
export async function withPasswordWork<T>(
  ctx: IdentityContext,
  address: string,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await ctx.passwordWork.run(address, work);
  } catch (error) {
    if (!(error instanceof WorkQueueFullError)) throw error;
    if (error.scope === "key") {
      throw new ProblemError(
        429,
        "Too Many Requests",
        "too many logins or sign-ups from this address at once; retry shortly",
        { reason: "tooManyConcurrent" },
        { "retry-after": "1" },
      );
    }
    throw new ProblemError(
      503,
      "Service Unavailable",
      "too many logins or sign-ups are waiting; retry shortly",
      { reason: "passwordQueueFull" },
      { "retry-after": "2" },
    );
  }
}

import { enforce } from "@mimi/rate-limits";
import { ProblemError } from "@mimi/service-kit";
import { findAccount } from "../accounts.js";
import type { IdentityContext } from "../context.js";
import { WorkQueueFullError } from "../domain/fair-queue.js";
import { verifyPassword } from "../domain/passwords.js";

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

/**
 * A signed-in user confirms a sensitive change with their password: checked in the fair queue and
 * under the account's failed-login limit (a wrong one counts as a failed login, and past the limit
 * the check is 429 before any hashing). Wrong: 403 `wrongPassword` with `wrongDetail`.
 */
export async function confirmPassword(
  ctx: IdentityContext,
  check: { username: string; password: string; address: string; wrongDetail: string },
): Promise<void> {
  const { username } = check;
  enforce(
    ctx.limits.loginPerAccount,
    await ctx.limits.loginPerAccount.peek(username),
    "too many failed password checks for this account; retry later",
  );
  const account = await findAccount(ctx.sql, username);
  if (!account) throw new ProblemError(401, "Unauthorized", "the bearer token is not valid");
  const valid = await withPasswordWork(ctx, check.address, () =>
    verifyPassword(check.password, account.password_hash),
  );
  if (!valid) {
    await ctx.limits.loginPerAccount.consume(username);
    throw new ProblemError(403, "Forbidden", check.wrongDetail, { reason: "wrongPassword" });
  }
}

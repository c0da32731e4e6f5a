import { principalOf } from "@mimi/auth";
import { clientAddress } from "@mimi/rate-limits";
import { validate } from "@mimi/service-kit";
import type { RequestHandler } from "express";
import { z } from "zod";
import type { IdentityContext } from "../context.js";
import { hashPassword, PASSWORD_RULES } from "../domain/passwords.js";
import { confirmPassword, withPasswordWork } from "./password-work.js";
import { currentTokenHash } from "./sessions.js";

const changePasswordBody = z.object({
  currentPassword: z.string().min(1).max(PASSWORD_RULES.maxLength),
  newPassword: z
    .string()
    .min(PASSWORD_RULES.minLength, `must be at least ${PASSWORD_RULES.minLength} characters`)
    .max(PASSWORD_RULES.maxLength),
});

/**
 * `POST /api/v1/me/password {currentPassword, newPassword}` (bearer) -> 200 `{ revoked }`: the new
 * password is stored and every other session of the account is logged out (this one stays). A wrong
 * current password is 403 `wrongPassword` and counts as a failed login of the account.
 */
export function changePassword(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const { username } = principalOf(res);
    const body = validate(changePasswordBody, req.body);
    const address = clientAddress(req);
    await confirmPassword(ctx, {
      username,
      password: body.currentPassword,
      address,
      wrongDetail: "the current password is not right",
    });
    const passwordHash = await withPasswordWork(ctx, address, () => hashPassword(body.newPassword));
    const current = currentTokenHash(req);
    const revoked = await ctx.sql.transaction(async (tx) => {
      await tx.query("update identity.accounts set password_hash = $2 where username = $1", [
        username,
        passwordHash,
      ]);
      const result = await tx.query(
        "update identity.tokens set revoked_at = now() where username = $1 and revoked_at is null and token_hash <> $2",
        [username, current],
      );
      return result.rowCount ?? 0;
    });
    ctx.tokens.forget(username);
    ctx.logger.info({ username, revoked }, "password changed");
    res.json({ revoked });
  };
}

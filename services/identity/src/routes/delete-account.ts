import { principalOf } from "@mimi/auth";
import { clientAddress } from "@mimi/rate-limits";
import { ProblemError, problems, validate } from "@mimi/service-kit";
import type { RequestHandler } from "express";
import { z } from "zod";
import { findDeletedAccount } from "../accounts.js";
import type { IdentityContext } from "../context.js";
import { quarantineEnds } from "../domain/account-deletion.js";
import { PASSWORD_RULES } from "../domain/passwords.js";
import { confirmPassword } from "./password-work.js";

const deleteAccountBody = z.object({ password: z.string().min(1).max(PASSWORD_RULES.maxLength) });

/**
 * `POST /api/v1/me/delete {password}` (bearer) -> 200 `{ deleted, quarantineUntil }`: the account is
 * marked deleted, every session is logged out and every client removed (their KeyPackages can no
 * longer be claimed: a claim hands out only KeyPackages of existing clients). A wrong password is 403
 * `wrongPassword` and counts as a failed login of the account. The name stays quarantined (410 Gone,
 * not registrable) for `MIMI_DELETED_NAME_QUARANTINE_DAYS`.
 */
export function deleteAccount(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const { username } = principalOf(res);
    const body = validate(deleteAccountBody, req.body);
    await confirmPassword(ctx, {
      username,
      password: body.password,
      address: clientAddress(req),
      wrongDetail: "the password is not right",
    });
    const deletedAt = await ctx.sql.transaction(async (tx) => {
      const marked = await tx.query<{ deleted_at: Date }>(
        "update identity.accounts set deleted_at = now() where username = $1 and deleted_at is null returning deleted_at",
        [username],
      );
      await tx.query(
        "update identity.tokens set revoked_at = now() where username = $1 and revoked_at is null",
        [username],
      );
      await tx.query("delete from identity.clients where username = $1", [username]);
      const row = marked.rows[0];
      return row === undefined ? undefined : new Date(row.deleted_at);
    });
    ctx.tokens.forget(username);
    const when = deletedAt ?? (await findDeletedAccount(ctx.sql, username));
    if (when === undefined) throw problems.notFound(`no account ${username}`);
    ctx.logger.info({ username }, "account deleted");
    res.json({
      deleted: true,
      quarantineUntil: quarantineEnds(when, ctx.deletedNameQuarantineSeconds).toISOString(),
    });
  };
}

/** The 410 a deleted account's actor and WebFinger answer during its quarantine. */
export function goneProblem(username: string): ProblemError {
  return new ProblemError(410, "Gone", `the account ${username} was deleted`, { reason: "accountDeleted" });
}

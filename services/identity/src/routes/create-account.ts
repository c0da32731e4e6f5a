import { LOCAL_USERNAME } from "@mimi/activitypub";
import { generateToken, hashToken } from "@mimi/auth";
import { clientAddress } from "@mimi/rate-limits";
import { problems, validate } from "@mimi/service-kit";
import { SQL_UNIQUE_VIOLATION, sqlErrorCode } from "@mimi/store";
import type { RequestHandler } from "express";
import { z } from "zod";
import { findDeletedAccount } from "../accounts.js";
import type { IdentityContext } from "../context.js";
import { quarantineEnds } from "../domain/account-deletion.js";
import { hashPassword, PASSWORD_RULES } from "../domain/passwords.js";
import { withPasswordWork } from "./password-work.js";

export const createAccountBody = z.object({
  username: z.string().regex(LOCAL_USERNAME, "must be 1-30 characters of a-z, 0-9 and _"),
  password: z
    .string()
    .min(PASSWORD_RULES.minLength, `must be at least ${PASSWORD_RULES.minLength} characters`)
    .max(PASSWORD_RULES.maxLength),
});

/**
 * `POST /api/v1/accounts {username, password}` -> 201 with a first bearer token; 409 for a name taken
 * or reserved. The router limits attempts per client address; the hash waits its turn in the fair
 * hashing queue.
 */
export function createAccount(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    if (!ctx.openRegistrations) throw problems.forbidden("registrations are closed on this provider");
    const body = validate(createAccountBody, req.body);
    if (ctx.reservedUsernames.has(body.username))
      throw problems.conflict(`the name ${body.username} is reserved`, { reason: "usernameReserved" });
    const passwordHash = await withPasswordWork(ctx, clientAddress(req), () => hashPassword(body.password));
    const token = generateToken();
    try {
      await ctx.sql.transaction(async (tx) => {
        // A deleted account's name is free once its quarantine is over: its row is purged here.
        await tx.query(
          `delete from identity.accounts where username = $1 and deleted_at is not null
           and deleted_at <= now() - make_interval(secs => $2)`,
          [body.username, ctx.deletedNameQuarantineSeconds],
        );
        await tx.query("insert into identity.accounts (username, password_hash) values ($1, $2)", [
          body.username,
          passwordHash,
        ]);
        await tx.query("insert into identity.tokens (token_hash, username, label) values ($1, $2, $3)", [
          hashToken(token),
          body.username,
          "registration",
        ]);
      });
    } catch (error) {
      if (sqlErrorCode(error) === SQL_UNIQUE_VIOLATION) {
        const deletedAt = await findDeletedAccount(ctx.sql, body.username);
        if (deletedAt !== undefined)
          throw problems.conflict(
            `the name ${body.username} belonged to a deleted account and is free from ${quarantineEnds(deletedAt, ctx.deletedNameQuarantineSeconds).toISOString()}`,
            { reason: "usernameQuarantined" },
          );
        throw problems.conflict(`the name ${body.username} is taken`);
      }
      throw error;
    }
    const actorId = ctx.urls.actor(body.username);
    await ctx.actorKeys.ensure(actorId);
    ctx.logger.info({ username: body.username }, "account created");
    res.status(201).json({
      username: body.username,
      acct: `acct:${body.username}@${ctx.urls.domain}`,
      actor: actorId,
      token,
    });
  };
}

import { generateToken, hashToken } from "@mimi/auth";
import { clientAddress, consumeOrRefuse, enforce } from "@mimi/rate-limits";
import { problems, validate } from "@mimi/service-kit";
import type { RequestHandler } from "express";
import { z } from "zod";
import { findAccount, insertToken } from "../accounts.js";
import type { IdentityContext } from "../context.js";
import { decoyHash, verifyPassword } from "../domain/passwords.js";
import { withPasswordWork } from "./password-work.js";

const createTokenBody = z.object({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
  label: z.string().max(100).optional(),
});

/**
 * `POST /api/v1/tokens {username, password}` -> 201 `{token}`; 401 without saying which part was wrong.
 * Limited per client address (every attempt) and per account (failed attempts; a success clears
 * them), both 429 with `Retry-After`; the password check waits its turn in the fair hashing queue.
 */
export function createToken(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const body = validate(createTokenBody, req.body);
    const address = clientAddress(req);
    const accountKey = body.username.toLowerCase();
    await consumeOrRefuse(
      ctx.limits.loginPerAddress,
      address,
      "too many logins from this address; retry later",
    );
    // Checked before the costly hash, spent only on a failure below.
    enforce(
      ctx.limits.loginPerAccount,
      await ctx.limits.loginPerAccount.peek(accountKey),
      "too many failed logins for this account; retry later",
    );
    const account = await findAccount(ctx.sql, body.username);
    // Verify against a decoy hash for unknown users so response time does not reveal whether the name exists.
    const stored = account?.password_hash ?? (await decoyHash());
    const valid = await withPasswordWork(ctx, address, () => verifyPassword(body.password, stored));
    if (!account || !valid) {
      await ctx.limits.loginPerAccount.consume(accountKey);
      throw problems.unauthorized("invalid username or password");
    }
    await ctx.limits.loginPerAccount.reset(accountKey);
    const token = generateToken();
    await insertToken(ctx.sql, account.username, hashToken(token), body.label ?? "");
    res.status(201).json({ username: account.username, token });
  };
}

import { generateToken, hashToken } from "@mimi/auth";
import { problems, validate } from "@mimi/service-kit";
import type { RequestHandler } from "express";
import { z } from "zod";
import { findAccount, insertToken } from "../accounts.js";
import type { IdentityContext } from "../context.js";
import { decoyHash, verifyPassword } from "../domain/passwords.js";

const createTokenBody = z.object({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
  label: z.string().max(100).optional(),
});

/** `POST /api/v1/tokens {username, password}` -> 201 `{token}`; 401 without saying which part was wrong. */
export function createToken(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const body = validate(createTokenBody, req.body);
    const account = await findAccount(ctx.sql, body.username);
    // Verify against a decoy hash for unknown users so response time does not reveal whether the name exists.
    const valid = await verifyPassword(body.password, account?.password_hash ?? (await decoyHash()));
    if (!account || !valid) throw problems.unauthorized("invalid username or password");
    const token = generateToken();
    await insertToken(ctx.sql, account.username, hashToken(token), body.label ?? "");
    res.status(201).json({ username: account.username, token });
  };
}

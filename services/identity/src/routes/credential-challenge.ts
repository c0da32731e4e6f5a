import { principalOf } from "@mimi/auth";
import { createChallenge } from "@mimi/credentials";
import type { RequestHandler } from "express";
import { findClient } from "../accounts.js";
import type { IdentityContext } from "../context.js";

export const CHALLENGE_LIFETIME_MS = 5 * 60_000;

/**
 * `POST /api/v1/clients/:clientId/credential/challenge` -> 201 `{ challenge, domain, user, clientId }`:
 * the nonce the client signs with its MLS signature key to prove possession before a credential is issued.
 */
export function credentialChallenge(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const { username } = principalOf(res);
    const client = await findClient(ctx.sql, username, String(req.params.clientId));
    const { challenge } = createChallenge();
    await ctx.sql.query(
      "insert into identity.credential_challenges (challenge, username, client_id, expires_at) values ($1, $2, $3, $4)",
      [challenge, username, client.id, new Date(Date.now() + CHALLENGE_LIFETIME_MS)],
    );
    // Old challenges are cleaned up opportunistically; they are single-use and short-lived anyway.
    await ctx.sql.query("delete from identity.credential_challenges where expires_at < now()");
    res.status(201).json({ challenge, domain: ctx.urls.domain, user: username, clientId: client.id });
  };
}

import { principalOf } from "@mimi/auth";
import type { RequestHandler } from "express";
import { listClients } from "../accounts.js";
import type { IdentityContext } from "../context.js";

/** `GET /api/v1/me`: who this token belongs to. */
export function me(ctx: IdentityContext): RequestHandler {
  return async (_req, res) => {
    const { username } = principalOf(res);
    const clients = await listClients(ctx.sql, username);
    res.json({
      username,
      acct: `acct:${username}@${ctx.urls.domain}`,
      actor: ctx.urls.actor(username),
      clients: clients.map((c) => ({ id: c.id, name: c.name, createdAt: c.created_at.toISOString() })),
    });
  };
}

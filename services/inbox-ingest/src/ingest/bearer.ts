import type { Principal } from "@mimi/auth";
import type { Request } from "express";
import type { InboxIngestContext } from "../context.js";
import { rejection } from "./rejections.js";

const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * Outbox authentication: a bearer token (401 without a valid one). Done in the handler rather than
 * as middleware so the body checks (415/413/400) come first, as on the inboxes.
 */
export async function authenticateBearer(ctx: InboxIngestContext, req: Request): Promise<Principal> {
  const header = req.headers.authorization;
  const token = header ? BEARER.exec(header)?.[1] : undefined;
  if (!token) {
    throw rejection(401, "missingToken", "a bearer token is required", {
      headers: { "www-authenticate": 'Bearer realm="mimi"' },
    });
  }
  const principal = await ctx.tokens.verify(token);
  if (!principal) {
    throw rejection(401, "invalidToken", "the bearer token is not valid", {
      headers: { "www-authenticate": 'Bearer realm="mimi", error="invalid_token"' },
    });
  }
  return principal;
}

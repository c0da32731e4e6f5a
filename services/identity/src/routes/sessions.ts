import { hashToken, principalOf } from "@mimi/auth";
import { problems } from "@mimi/service-kit";
import type { Request, RequestHandler } from "express";
import type { IdentityContext } from "../context.js";

/** The hash of the bearer token a request was authenticated with (requireBearer checked it). */
export function currentTokenHash(req: Request): string {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
  if (!match?.[1]) throw problems.unauthorized("a bearer token is required");
  return hashToken(match[1]);
}

/** A session's public id: the first 16 hex digits of its token's hash (never the token). */
const SESSION_ID = /^[0-9a-f]{16}$/;
const sessionIdOf = (tokenHash: string) => tokenHash.slice(0, 16);

interface TokenRow {
  token_hash: string;
  label: string;
  created_at: Date;
  last_used_at: Date;
}

/**
 * `GET /api/v1/tokens` (bearer): the account's sessions not revoked, newest first; `current` marks
 * this one. Sessions unused past the idle limit are left out: their tokens are refused.
 */
export function listSessions(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const { username } = principalOf(res);
    const current = currentTokenHash(req);
    const rows = await ctx.sql.query<TokenRow>(
      `select token_hash, label, created_at, last_used_at from identity.tokens
        where username = $1 and revoked_at is null
          and ($2::integer = 0 or last_used_at > now() - make_interval(secs => $2::integer))
        order by created_at desc, token_hash limit 1000`,
      [username, ctx.sessionIdleSeconds],
    );
    res.json({
      sessions: rows.rows.map((row) => ({
        id: sessionIdOf(row.token_hash),
        label: row.label,
        createdAt: new Date(row.created_at).toISOString(),
        // Written at most once an hour per token, so up to an hour behind.
        lastUsedAt: new Date(row.last_used_at).toISOString(),
        current: row.token_hash === current,
      })),
    });
  };
}

/**
 * Revokes tokens of `username` matched by `which`; the other services' token caches forget them
 * within their cache time (30 s), identity's at once.
 */
async function revoke(
  ctx: IdentityContext,
  username: string,
  which: { all: true } | { tokenHash: string } | { sessionId: string },
): Promise<number> {
  const [condition, parameters]: [string, string[]] =
    "all" in which
      ? ["", [username]]
      : "tokenHash" in which
        ? [" and token_hash = $2", [username, which.tokenHash]]
        : [" and left(token_hash, 16) = $2", [username, which.sessionId]];
  const result = await ctx.sql.query(
    `update identity.tokens set revoked_at = now() where username = $1 and revoked_at is null${condition}`,
    parameters,
  );
  ctx.tokens.forget(username);
  return result.rowCount ?? 0;
}

/** `DELETE /api/v1/tokens/current` (bearer): logs this session out. 204. */
export function logOut(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const { username } = principalOf(res);
    await revoke(ctx, username, { tokenHash: currentTokenHash(req) });
    ctx.logger.info({ username }, "logged out");
    res.status(204).end();
  };
}

/** `DELETE /api/v1/tokens` (bearer): logs every session of the account out, this one too. 200 `{ revoked }`. */
export function logOutEverywhere(ctx: IdentityContext): RequestHandler {
  return async (_req, res) => {
    const { username } = principalOf(res);
    const revoked = await revoke(ctx, username, { all: true });
    ctx.logger.info({ username, revoked }, "logged out everywhere");
    res.json({ revoked });
  };
}

/** `DELETE /api/v1/tokens/:id` (bearer): logs one session of the account out (an id from the list). 204; 404 unknown. */
export function revokeSession(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const { username } = principalOf(res);
    const sessionId = String(req.params.id);
    if (!SESSION_ID.test(sessionId)) throw problems.notFound(`no session ${sessionId}`);
    const revoked = await revoke(ctx, username, { sessionId });
    if (revoked === 0) throw problems.notFound(`no session ${sessionId}`);
    ctx.logger.info({ username, session: sessionId }, "session revoked");
    res.status(204).end();
  };
}

import { problems } from "@mimi/service-kit";
import type { RequestHandler, Response } from "express";
import type { Principal, TokenVerifier } from "./tokens.js";

const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * Requires `Authorization: Bearer <token>` and stores the principal for `principalOf(res)`; 401
 * problem+json otherwise, with `reason: "sessionExpired"` for a session unused past the idle limit.
 */
export function requireBearer(verifier: TokenVerifier): RequestHandler {
  return async (req, res, next) => {
    const header = req.headers.authorization;
    const match = header ? BEARER.exec(header) : null;
    if (!match?.[1]) {
      res.setHeader("www-authenticate", 'Bearer realm="mimi"');
      throw problems.unauthorized("a bearer token is required");
    }
    const checked = await verifier.check(match[1]);
    if (!checked.ok) {
      res.setHeader("www-authenticate", 'Bearer realm="mimi", error="invalid_token"');
      // A client tells an expired session (log in again) from a token that never was or was revoked.
      throw checked.reason === "sessionExpired"
        ? problems.unauthorized("the session has expired: log in again", { reason: "sessionExpired" })
        : problems.unauthorized("the bearer token is not valid");
    }
    res.locals.principal = checked.principal;
    next();
  };
}

export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error("principalOf called on a route without requireBearer");
  return principal;
}

/** For routes under `/users/:username/...`: the token must belong to that user. */
export function requireSelf(res: Response, username: string): Principal {
  const principal = principalOf(res);
  if (principal.username !== username) throw problems.forbidden("this token belongs to another user");
  return principal;
}

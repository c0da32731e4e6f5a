import { problems } from "@mimi/service-kit";
import type { RequestHandler, Response } from "express";
import type { Principal, TokenVerifier } from "./tokens.js";

const BEARER = /^Bearer\s+(\S+)$/i;

/** Requires `Authorization: Bearer <token>` and stores the principal for `principalOf(res)`. */
export function requireBearer(verifier: TokenVerifier): RequestHandler {
  return async (req, res, next) => {
    const header = req.headers.authorization;
    const match = header ? BEARER.exec(header) : null;
    if (!match?.[1]) {
      res.setHeader("www-authenticate", 'Bearer realm="mimi"');
      throw problems.unauthorized("a bearer token is required");
    }
    const principal = await verifier.verify(match[1]);
    if (!principal) {
      res.setHeader("www-authenticate", 'Bearer realm="mimi", error="invalid_token"');
      throw problems.unauthorized("the bearer token is not valid");
    }
    res.locals.principal = principal;
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

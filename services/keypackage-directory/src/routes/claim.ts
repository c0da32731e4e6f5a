import { ACTIVITY_JSON, isLocalUsername } from "@mimi/activitypub";
import { verifyRequest } from "@mimi/http-signatures";
import { ProblemError, problems, toProblem } from "@mimi/service-kit";
import express, { type Request, type RequestHandler } from "express";
import { claimUserKeyPackages } from "../claim-engine.js";
import { claimDepsOf, type KeyPackageDirectoryContext } from "../context.js";
import { claimableCiphersuites } from "../domain/ciphersuites.js";
import { claimCollection } from "../domain/claim-document.js";
import { parseClaimRequest } from "../domain/claim-request.js";

const CLAIM_BODY_LIMIT = 16 * 1024;

const SIGNATURE_CHALLENGE = {
  "www-authenticate": 'Signature headers="(request-target) host date digest content-type"',
};

function isJsonType(contentType: string | undefined): boolean {
  const type = contentType?.split(";")[0]?.trim().toLowerCase();
  return type === ACTIVITY_JSON || type === "application/ld+json" || type === "application/json";
}

/**
 * The raw claim body (the signature's digest covers its exact bytes), after the media type check.
 * ActivityPub JSON types and plain JSON are accepted.
 */
export function claimBody(): RequestHandler[] {
  const raw = express.raw({ type: () => true, limit: CLAIM_BODY_LIMIT, inflate: false });
  return [
    (req, _res, next) => {
      if (!isJsonType(req.headers["content-type"])) {
        throw problems.unsupportedMediaType(
          `expected ${ACTIVITY_JSON}, got ${req.headers["content-type"] ?? "no content type"}`,
        );
      }
      next();
    },
    (req, res, next) => {
      raw(req, res, (error?: unknown) => {
        if (error === undefined || error === null) next();
        else next(toProblem(error) ?? error);
      });
    },
  ];
}

function bodyBytesOf(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

/**
 * `POST /users/:username/keyPackages/claim` (the actor's `mimi:keyPackageClaim`), HTTP-signed by the
 * requesting server: 401 before anything else is looked at, then 400 bad body, 404 unknown user,
 * else 200 with a Collection of one KeyPackage per client (PROTOCOL.md, "KeyPackages").
 */
export function claimKeyPackages(ctx: KeyPackageDirectoryContext): RequestHandler {
  return async (req, res) => {
    const body = bodyBytesOf(req);
    const verified = await verifyRequest(
      { method: req.method, path: req.originalUrl, headers: req.headers, body },
      ctx.keys,
      { now: ctx.now(), clockSkewSeconds: ctx.settings.clockSkewSeconds, scheme: ctx.publicScheme },
    );
    if (!verified.ok) {
      ctx.logger.info({ reason: verified.reason, detail: verified.detail }, "claim signature rejected");
      // Why a key could not be fetched stays in our logs: the answer must not map our network for the sender.
      const detail =
        verified.reason === "keyFetchError"
          ? "the signature's key could not be fetched or used"
          : verified.detail;
      throw new ProblemError(401, "Unauthorized", detail, { reason: verified.reason }, SIGNATURE_CHALLENGE);
    }
    const request = parseClaimRequest(body);
    if (!request.ok) throw problems.badRequest(request.detail);
    const username = String(req.params.username);
    if (!isLocalUsername(username)) throw problems.notFound(`no user ${username}`);
    const outcome = await claimUserKeyPackages(claimDepsOf(ctx), {
      username,
      ciphersuites: claimableCiphersuites(request.ciphersuites, ctx.settings.ciphersuites),
      requester: verified.keyOwner,
    });
    if (!outcome.ok) throw problems.notFound(`no user ${username}`);
    res
      .status(200)
      .type(ACTIVITY_JSON)
      .send(JSON.stringify(claimCollection(ctx.urls.actor(username), outcome.items, outcome.unavailable)));
  };
}

import { ACTIVITY_JSON, isLocalUsername } from "@mimi/activitypub";
import { verifyRequest } from "@mimi/http-signatures";
import { ProblemError, problems } from "@mimi/service-kit";
import type { NextFunction, Request, RequestHandler } from "express";
import { claimUserKeyPackages } from "../claim-engine.js";
import { admitClaim, limitLastResorts, originOf } from "../claim-limits.js";
import { concealedAnswerForBlocked, enforceConsent, enforceServerClaimPolicy } from "../claim-policy.js";
import { claimDepsOf, type KeyPackageDirectoryContext } from "../context.js";
import { claimableCiphersuites } from "../domain/ciphersuites.js";
import { claimCollection } from "../domain/claim-document.js";
import { parseClaimRequest } from "../domain/claim-request.js";
import { signatureUses } from "../domain/signature-replay.js";

const CLAIM_BODY_LIMIT = 16 * 1024;
const CLAIM_ANSWER_TYPE = `${ACTIVITY_JSON}; charset=utf-8`;

const SIGNATURE_CHALLENGE = {
  "www-authenticate": 'Signature headers="(request-target) host date digest content-type"',
};

function isJsonType(contentType: string | undefined): boolean {
  const type = contentType?.split(";")[0]?.trim().toLowerCase();
  return type === ACTIVITY_JSON || type === "application/ld+json" || type === "application/json";
}

/** Content-Encoding values that leave the body as sent (compressed claims are not accepted). */
function isIdentityEncoding(encoding: string | undefined): boolean {
  return encoding === undefined || encoding.trim().toLowerCase() === "identity";
}

/**
 * The raw claim body (the signature's digest covers its exact bytes), after the media type check.
 * ActivityPub JSON types and plain JSON are accepted; at most `CLAIM_BODY_LIMIT` bytes, uncompressed.
 * Read straight from the request stream: this endpoint is hot, and the body is a few dozen bytes.
 */
export function claimBody(): RequestHandler {
  return (req, _res, next) => {
    if (!isJsonType(req.headers["content-type"])) {
      throw problems.unsupportedMediaType(
        `expected ${ACTIVITY_JSON}, got ${req.headers["content-type"] ?? "no content type"}`,
      );
    }
    if (!isIdentityEncoding(req.headers["content-encoding"])) {
      throw problems.unsupportedMediaType("unsupported content encoding or charset");
    }
    if (Number(req.headers["content-length"] ?? 0) > CLAIM_BODY_LIMIT) throw tooLarge();
    const reader = new ClaimBodyReader(req, next);
    req.on("data", (chunk: Buffer) => reader.data(chunk));
    req.on("end", () => reader.end());
    req.on("error", () => reader.fail(problems.badRequest("request was aborted by the client")));
  };
}

/** Collects one claim body; a class, so each request costs one object rather than a set of closures. */
class ClaimBodyReader {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private settled = false;

  constructor(
    private readonly req: Request,
    private readonly next: NextFunction,
  ) {}

  data(chunk: Buffer): void {
    if (this.settled) return;
    this.size += chunk.length;
    if (this.size > CLAIM_BODY_LIMIT) this.fail(tooLarge());
    else this.chunks.push(chunk);
  }

  end(): void {
    if (this.settled) return;
    this.settled = true;
    this.req.body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    this.next();
  }

  fail(error: ProblemError): void {
    if (this.settled) return;
    this.settled = true;
    // The rest is not wanted; let it drain so the connection can carry the answer.
    this.req.resume();
    this.next(error);
  }
}

function tooLarge(): ProblemError {
  return problems.payloadTooLarge("request body is larger than this endpoint accepts");
}

function bodyBytesOf(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

function signatureRefused(reason: string, detail: string): ProblemError {
  return new ProblemError(401, "Unauthorized", detail, { reason }, SIGNATURE_CHALLENGE);
}

/**
 * `POST /users/:username/keyPackages/claim` (the actor's `mimi:keyPackageClaim`), HTTP-signed by the
 * requesting server: 401 before anything else is looked at (a bad signature, or one already answered:
 * `replayedRequest`), then 400 bad body, 404 unknown user, 429 when the signer, its origin or its
 * origin's claims of this user are over their limits, else 200 with a Collection of one KeyPackage
 * per client (docs/protocol.md, "KeyPackages"); a last resort handed to the origin too often is
 * withheld (the client listed `noKeyPackages`).
 */
export function claimKeyPackages(ctx: KeyPackageDirectoryContext): RequestHandler {
  return async (req, res) => {
    // A blocked domain's claim is refused before its key is fetched.
    await enforceServerClaimPolicy(ctx, req.headers);
    const body = bodyBytesOf(req);
    const now = ctx.now();
    const clockSkewSeconds = ctx.settings.clockSkewSeconds;
    const verified = await verifyRequest(
      { method: req.method, path: req.originalUrl, headers: req.headers, body },
      ctx.keys,
      { now, clockSkewSeconds, scheme: ctx.publicScheme },
    );
    if (!verified.ok) {
      ctx.logger.info({ reason: verified.reason, detail: verified.detail }, "claim signature rejected");
      // Why a key could not be fetched stays in our logs: the answer must not map our network for the sender.
      const detail =
        verified.reason === "keyFetchError"
          ? "the signature's key could not be fetched or used"
          : verified.detail;
      throw signatureRefused(verified.reason, detail);
    }
    // Once per signature: marked before anything is claimed, so of concurrent replays one goes through.
    const uses = signatureUses(req.headers, verified, Math.floor(now.getTime() / 1000), clockSkewSeconds);
    if (!uses.ok) throw signatureRefused(uses.reason, uses.detail);
    const firstUses = await Promise.all(
      uses.uses.map((use) => ctx.replayGuard.firstUse(use.key, use.ttlSeconds)),
    );
    if (firstUses.includes(false)) {
      ctx.logger.info({ keyId: verified.keyId }, "replayed claim refused");
      throw signatureRefused("replayedRequest", "this signature was already used; sign each request anew");
    }
    const request = parseClaimRequest(body);
    if (!request.ok) throw problems.badRequest(request.detail);
    const username = String(req.params.username);
    if (!isLocalUsername(username)) throw problems.notFound(`no user ${username}`);
    const requesterOrigin = originOf(verified.keyOwner);
    const concealed = await concealedAnswerForBlocked(ctx, { username, requester: verified.keyOwner });
    if (concealed) {
      res.type(CLAIM_ANSWER_TYPE).send(JSON.stringify(concealed));
      return;
    }
    await enforceConsent(ctx, { username, requester: verified.keyOwner });
    await admitClaim(ctx.claimLimits, {
      requester: verified.keyOwner,
      requesterOrigin,
      target: username,
      via: "server",
    });
    const claimed = await claimUserKeyPackages(claimDepsOf(ctx), {
      username,
      ciphersuites: claimableCiphersuites(request.ciphersuites, ctx.settings.ciphersuites),
      requester: verified.keyOwner,
    });
    if (!claimed.ok) throw problems.notFound(`no user ${username}`);
    const outcome = await limitLastResorts(ctx.claimLimits, requesterOrigin, username, claimed);
    ctx.poolWatch.afterClaim(username, outcome);
    // Written directly: express's send() would only add freshness and charset work this answer never needs.
    const answer = JSON.stringify(
      claimCollection(ctx.urls.actor(username), outcome.items, outcome.unavailable),
    );
    res.writeHead(200, {
      "content-type": CLAIM_ANSWER_TYPE,
      "content-length": Buffer.byteLength(answer),
    });
    res.end(answer);
  };
}

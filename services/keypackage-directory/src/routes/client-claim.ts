import { ACTIVITY_JSON, parseAcct } from "@mimi/activitypub";
import { principalOf } from "@mimi/auth";
import { ProblemError, problems, validate } from "@mimi/service-kit";
import type { RequestHandler } from "express";
import { z } from "zod";
import { claimUserKeyPackages } from "../claim-engine.js";
import { admitClaim, limitLastResorts } from "../claim-limits.js";
import {
  concealedAnswerForBlocked,
  enforceClientClaimPolicy,
  enforceConsent,
  recordContactOfClaim,
} from "../claim-policy.js";
import { claimDepsOf, type KeyPackageDirectoryContext } from "../context.js";
import { claimableCiphersuites } from "../domain/ciphersuites.js";
import { claimCollection } from "../domain/claim-document.js";
import { ciphersuiteListSchema } from "../domain/claim-request.js";
import { claimRemoteKeyPackages } from "../remote-claim.js";

const clientClaimBody = z.object({
  acct: z.string().min(3).max(300),
  ciphersuites: ciphersuiteListSchema.optional(),
});

/**
 * `POST /api/v1/keypackages/claim {acct, ciphersuites?}` (bearer): a local client claims another
 * user's KeyPackages through its home server. Local users are claimed directly; for a remote user
 * the server finds the actor (WebFinger) and sends a claim signed as the requesting user's actor,
 * then relays the checked answer. Without `ciphersuites`, this provider's suites are asked for.
 * Limited per (user, target), per target for all local users, and per user (429 with Retry-After).
 * Why a remote claim failed stays in the logs (it may name addresses inside our network); the
 * answer is 404 for a user the peer does not know, else 502 `remoteClaimFailed`.
 */
export function clientClaim(ctx: KeyPackageDirectoryContext): RequestHandler {
  return async (req, res) => {
    const { username: requester } = principalOf(res);
    const body = validate(clientClaimBody, req.body);
    const acct = parseAcct(body.acct, { lenient: true });
    if (!acct.ok) throw problems.badRequest(`acct: ${acct.reason}`);
    const requested = body.ciphersuites ?? ctx.settings.ciphersuites;
    const requesterActor = ctx.urls.actor(requester);
    const local = acct.acct.host === ctx.urls.domain;
    const requesterOrigin = new URL(ctx.urls.base).origin;
    await enforceClientClaimPolicy(ctx, { requester, targetHost: acct.acct.host });
    await admitClaim(ctx.claimLimits, {
      requester: requesterActor,
      requesterOrigin,
      target: local ? acct.acct.user : `${acct.acct.user}@${acct.acct.host}`,
      via: "client",
    });

    if (local) {
      const username = acct.acct.user;
      const concealed = await concealedAnswerForBlocked(ctx, { username, requester: requesterActor });
      if (concealed) {
        res.type(ACTIVITY_JSON).send(JSON.stringify(concealed));
        return;
      }
      await enforceConsent(ctx, { username, requester: requesterActor });
      const claimed = await claimUserKeyPackages(claimDepsOf(ctx), {
        username,
        ciphersuites: claimableCiphersuites(requested, ctx.settings.ciphersuites),
        requester: requesterActor,
      });
      if (!claimed.ok) throw problems.notFound(`no user ${username}`);
      const outcome = await limitLastResorts(ctx.claimLimits, requesterOrigin, username, claimed);
      ctx.poolWatch.afterClaim(username, outcome);
      await recordContactOfClaim(ctx, requester, ctx.urls.actor(username));
      res
        .type(ACTIVITY_JSON)
        .send(JSON.stringify(claimCollection(ctx.urls.actor(username), outcome.items, outcome.unavailable)));
      return;
    }

    const remote = await claimRemoteKeyPackages(
      {
        http: ctx.http,
        actorKeys: ctx.actorKeys,
        instanceActor: ctx.urls.instanceActor,
        connectTo: ctx.connectTo,
        validate: ctx.validate,
        logger: ctx.logger,
        now: ctx.now,
        schemes: ctx.signatureSchemes,
      },
      { acct: acct.acct, ciphersuites: requested, requesterActor },
    );
    if (!remote.ok) {
      ctx.logger.info(
        { acct: body.acct, status: remote.status, detail: remote.detail },
        "remote claim failed",
      );
      if (remote.status === 404) throw problems.notFound(remote.detail);
      if (remote.status === 403 && remote.reason === "consentRequired") {
        throw problems.forbidden(remote.detail, { reason: "consentRequired" });
      }
      throw new ProblemError(
        502,
        "Bad Gateway",
        `the provider of ${acct.acct.user}@${acct.acct.host} could not be reached or gave no usable answer`,
        { reason: "remoteClaimFailed" },
      );
    }
    await recordContactOfClaim(ctx, requester, remote.collection.attributedTo);
    res.type(ACTIVITY_JSON).send(JSON.stringify(remote.collection));
  };
}

import type { ActivityEnvelope } from "@mimi/activitypub";
import { verifyRequest } from "@mimi/http-signatures";
import type { Request } from "express";
import type { InboxIngestContext } from "../context.js";
import type { InboxTarget } from "../domain/addressing.js";
import { isLocalChannelUrl } from "../domain/addressing.js";
import { authorizeInboxDelivery, type InboxDenyReason } from "../domain/authorization.js";
import { rejection } from "./rejections.js";

/**
 * 401 when the signature does not make the signer the actor's voice (not the actor, not a channel
 * that may forward for it); 403 when the signer is the actor but may not say this here; 400 when the
 * activity itself is malformed for the rule.
 */
const DENIAL_STATUS: Record<InboxDenyReason, 400 | 401 | 403> = {
  keyOwnerMismatch: 401,
  notForwardedByChannel: 401,
  notChannelMember: 401,
  channelMembershipUnknown: 401,
  activityIdOriginMismatch: 403,
  channelActivityNotFromChannel: 403,
  ambiguousTarget: 400,
};

const SIGNATURE_CHALLENGE = {
  "www-authenticate": 'Signature headers="(request-target) host date digest content-type"',
};

export type AuthenticatedDelivery =
  | {
      /** The actor whose key signed the request. */
      readonly sender: string;
      readonly basis: "author";
    }
  | {
      /** The channel that signed the request, forwarding a member's activity. */
      readonly sender: string;
      readonly basis: "channelForward";
      /** The channel's members as read for the decision, from the channel's own server. */
      readonly members: readonly string[];
    };

/**
 * Inbox authentication: the HTTP signature (401 naming the failure), then the authorization rule
 * (the signer must be the activity's actor, or a channel forwarding a member's activity).
 */
export async function authenticateInboxDelivery(
  ctx: InboxIngestContext,
  req: Request,
  body: Uint8Array,
  activity: ActivityEnvelope,
  target: InboxTarget,
): Promise<AuthenticatedDelivery> {
  const verified = await verifyRequest(
    { method: req.method, path: req.originalUrl, headers: req.headers, body },
    ctx.keys,
    { now: ctx.now(), clockSkewSeconds: ctx.settings.clockSkewSeconds, scheme: ctx.publicScheme },
  );
  if (!verified.ok) {
    // Why a key could not be fetched stays in our logs: the answer must not map our network for the sender.
    const detail =
      verified.reason === "keyFetchError"
        ? "the signature's key could not be fetched or used"
        : verified.detail;
    ctx.logger.info(
      { activityId: activity.id, reason: verified.reason, detail: verified.detail },
      "inbox signature rejected",
    );
    throw rejection(401, verified.reason, detail, { headers: SIGNATURE_CHALLENGE });
  }
  // Whatever the activity turns out to be, its signer's server is up.
  await ctx.reachable(new URL(verified.keyOwner).origin);
  let decision: Awaited<ReturnType<typeof authorizeInboxDelivery>>;
  try {
    decision = await authorizeInboxDelivery(
      { signer: { keyId: verified.keyId, keyOwner: verified.keyOwner }, activity, target },
      { channelMembers: ctx.channelMembers, isLocalChannel: (url) => isLocalChannelUrl(ctx.urls, url) },
    );
  } catch (error) {
    ctx.logger.warn({ err: error, activityId: activity.id }, "channel membership check failed");
    throw rejection(
      503,
      "membershipCheckFailed",
      "could not check the forwarding channel's membership; retry later",
      {
        headers: { "retry-after": "60" },
      },
    );
  }
  if (!decision.allow) {
    ctx.logger.info(
      { activityId: activity.id, signer: verified.keyOwner, reason: decision.reason },
      "inbox delivery not authorized",
    );
    throw rejection(DENIAL_STATUS[decision.reason], decision.reason, decision.detail);
  }
  if (decision.basis === "author") return { sender: verified.keyOwner, basis: "author" };
  return { sender: verified.keyOwner, basis: "channelForward", members: decision.members };
}

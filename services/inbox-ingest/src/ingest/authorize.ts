import type { ActivityEnvelope } from "@mimi/activitypub";
import type { InboxIngestContext } from "../context.js";
import { type InboxTarget, isLocalChannelUrl } from "../domain/addressing.js";
import {
  authorizeInboxDelivery,
  type InboxAuthorization,
  type InboxSigner,
} from "../domain/authorization.js";
import type { AuthorizedDelivery } from "../domain/inbox-routing.js";
import { authorizeOutboxSubmission } from "../domain/outbox-authorization.js";
import { proceed, refuse, type StepResult } from "./pipeline.js";

/**
 * The inboxes' authorize step: the rule of docs/trust-model.md (`authorizeInboxDelivery`), with the
 * channel membership port. A port that throws (the collection may be readable later) refuses with a
 * retryable status; the rule's own denials are refused with their reasons.
 */
export async function authorizeInbox(
  ctx: Pick<InboxIngestContext, "channelMembers" | "urls">,
  input: { readonly signer: InboxSigner; readonly activity: ActivityEnvelope; readonly target: InboxTarget },
): Promise<StepResult<AuthorizedDelivery>> {
  let decision: InboxAuthorization;
  try {
    decision = await authorizeInboxDelivery(input, {
      channelMembers: ctx.channelMembers,
      isLocalChannel: (url) => isLocalChannelUrl(ctx.urls, url),
    });
  } catch (error) {
    return refuse(
      "membershipCheckFailed",
      "could not check the forwarding channel's membership; retry later",
      {
        note: {
          level: "warn",
          message: "channel membership check failed",
          fields: { err: error, activityId: input.activity.id },
        },
      },
    );
  }
  return inboxAuthorizationResult(decision, input.signer, input.activity.id);
}

/** The inbox rule's decision as a step result: the delivery and its basis, or the denial. */
export function inboxAuthorizationResult(
  decision: InboxAuthorization,
  signer: InboxSigner,
  activityId: string,
): StepResult<AuthorizedDelivery> {
  if (!decision.allow) {
    return refuse(decision.reason, decision.detail, {
      note: {
        level: "info",
        message: "inbox delivery not authorized",
        fields: { activityId, signer: signer.keyOwner, reason: decision.reason },
      },
    });
  }
  if (decision.basis === "author") return proceed({ sender: signer.keyOwner, basis: "author" });
  return proceed({ sender: signer.keyOwner, basis: "channelForward", members: decision.members });
}

/** The outbox's authorize step: the submission rule (`authorizeOutboxSubmission`), refused with its reasons. */
export function authorizeOutbox(input: Parameters<typeof authorizeOutboxSubmission>[0]): StepResult<void> {
  const decision = authorizeOutboxSubmission(input);
  return decision.allow ? proceed(undefined) : refuse(decision.reason, decision.detail);
}

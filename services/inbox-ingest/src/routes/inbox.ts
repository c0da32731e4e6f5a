import type { RequestHandler } from "express";
import type { InboxIngestContext } from "../context.js";
import type { InboxTarget } from "../domain/addressing.js";
import type { IngestLimits } from "../domain/ingest-limits.js";
import { verifySignature } from "../ingest/authenticate.js";
import { authorizeInbox } from "../ingest/authorize.js";
import { forgetKeysOfDeletedActor } from "../ingest/deleted-actor-keys.js";
import { checkDmDelivery } from "../ingest/dm-messages.js";
import { refuseBlockedDomains } from "../ingest/domain-blocks.js";
import type { IngestRoute } from "../ingest/outcomes.js";
import type { IngestOutcome, IngestRequest } from "../ingest/pipeline.js";
import { publishOnce } from "../ingest/publish-once.js";
import { readActivity } from "../ingest/read-activity.js";
import { withholdFromBlockingRecipients } from "../ingest/recipient-blocks.js";
import { routeInbox } from "../ingest/route-inbox.js";
import { ingestHandler } from "./answer.js";

/** A signed inbox POST (personal, shared or channel), addressed to the inbox `targetOf` names. */
export function inboxHandler(
  ctx: InboxIngestContext,
  route: IngestRoute,
  targetOf: (request: IngestRequest) => InboxTarget,
): RequestHandler {
  return ingestHandler(ctx, route, (request) => ingestInboxDelivery(ctx, request, targetOf(request)));
}

/**
 * The inbox steps, in order (docs/protocol.md, 8): read, the operator's domain blocks (before any key
 * fetch), authenticate (the signature), authorize (the
 * trust model's rule; an actor's deletion drops their cached keys), route (the addressee, the recipients
 * or the channel), publish once. The first
 * step that does not let the request through gives its outcome.
 */
export async function ingestInboxDelivery(
  ctx: InboxIngestContext,
  request: IngestRequest,
  target: InboxTarget,
  limits: IngestLimits = ctx.settings,
): Promise<IngestOutcome> {
  const received = readActivity(request.body, limits);
  if (received.kind !== "continue") return received;
  const { activity } = received.value;
  const unblocked = await refuseBlockedDomains(ctx, request, received.value);
  if (unblocked.kind !== "continue") return unblocked;
  const signer = await verifySignature(ctx, request, received.value);
  if (signer.kind !== "continue") return signer;
  const authorized = await authorizeInbox(ctx, { signer: signer.value, activity, target });
  if (authorized.kind !== "continue") return authorized;
  forgetKeysOfDeletedActor(ctx, activity);
  // A group DM's message by its author (a channel's inbox and forwards follow the channel rules).
  if (target.kind !== "channel" && authorized.value.basis === "author") {
    const dm = await checkDmDelivery(ctx, activity);
    if (dm.kind !== "continue") return dm;
  }
  const publication = await routeInbox(
    ctx,
    request,
    { target, authorized: authorized.value, activity, bodyBytes: received.value.body.byteLength },
    limits,
  );
  if (publication.kind !== "continue") return publication;
  const kept = await withholdFromBlockingRecipients(ctx, publication.value, {
    authorized: authorized.value,
    activity,
  });
  if (kept.kind !== "continue") return kept;
  return publishOnce(ctx, kept.value);
}

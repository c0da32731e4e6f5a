import type { RequestHandler } from "express";
import type { InboxIngestContext } from "../context.js";
import type { IngestLimits } from "../domain/ingest-limits.js";
import { authorizeOutbox } from "../ingest/authorize.js";
import { authenticateBearer } from "../ingest/bearer.js";
import { checkDmDelivery } from "../ingest/dm-messages.js";
import type { IngestOutcome, IngestRequest } from "../ingest/pipeline.js";
import { publishOnce } from "../ingest/publish-once.js";
import { readActivity } from "../ingest/read-activity.js";
import { routeOutbox } from "../ingest/route-outbox.js";
import { ingestHandler } from "./answer.js";

/**
 * `POST /users/:username/outbox`: a local user's client submits an activity (bearer token of that
 * user; the activity's actor must be the user). Activities about one of this provider's channels go
 * to `channel.inbox`; everything else to `delivery.requests`, signed as the user.
 */
export function outbox(ctx: InboxIngestContext): RequestHandler {
  return ingestHandler(ctx, "outbox", (request) => ingestOutboxSubmission(ctx, request));
}

/** The outbox steps, in order: read, authenticate (the token), authorize, route, publish once. */
export async function ingestOutboxSubmission(
  ctx: InboxIngestContext,
  request: IngestRequest,
  limits: IngestLimits = ctx.settings,
): Promise<IngestOutcome> {
  const username = String(request.params.username);
  const received = readActivity(request.body, limits);
  if (received.kind !== "continue") return received;
  const { activity } = received.value;
  const principal = await authenticateBearer(ctx.tokens, request.headers.authorization);
  if (principal.kind !== "continue") return principal;
  const actor = ctx.urls.actor(username);
  const authorized = authorizeOutbox({ username, tokenOwner: principal.value.username, actor, activity });
  if (authorized.kind !== "continue") return authorized;
  const dm = await checkDmDelivery(ctx, activity);
  if (dm.kind !== "continue") return dm;
  const publication = await routeOutbox(ctx, request, { username, actor, activity });
  if (publication.kind !== "continue") return publication;
  return publishOnce(ctx, publication.value);
}

import { actorIdOf, isLocalUsername } from "@mimi/activitypub";
import { existingUsernames } from "@mimi/identity/reads";
import { deliveryRequestKey, deliveryRequestsTopic } from "@mimi/topics";
import type { RequestHandler } from "express";
import type { InboxIngestContext } from "../context.js";
import { targetKey } from "../domain/addressing.js";
import { routeOutboxActivity } from "../domain/outbox-routing.js";
import { authenticateBearer } from "../ingest/bearer.js";
import { publishToChannel, requireLocalChannel } from "../ingest/publish-channel.js";
import { publishOnce, traceHeaders } from "../ingest/publish-once.js";
import { bodyBytesOf, readActivity } from "../ingest/read-activity.js";
import { rejection } from "../ingest/rejections.js";

/**
 * `POST /users/:username/outbox`: a local user's client submits an activity (bearer token of that
 * user; the activity's actor must be the user). Activities about one of this provider's channels go
 * to `channel.inbox`; everything else to `delivery.requests`, signed as the user.
 */
export function outbox(ctx: InboxIngestContext): RequestHandler {
  return async (req, res) => {
    const username = String(req.params.username);
    const body = bodyBytesOf(req);
    const activity = readActivity(body);
    const principal = await authenticateBearer(ctx, req);
    if (principal.username !== username) {
      throw rejection(403, "wrongUser", "this token belongs to another user");
    }
    const actor = ctx.urls.actor(username);
    if (actorIdOf(activity) !== actor) {
      throw rejection(403, "actorMismatch", `the activity's actor must be ${actor}`);
    }
    // Clients name their activities under their own actor URL (docs/channels.md, Identifiers), so
    // ids cannot collide with another user's or with the ones channels mint.
    if (!activity.id.startsWith(`${actor}/`)) {
      throw rejection(400, "activityIdNotLocal", `the activity id must be a URL under ${actor}/`);
    }
    // Not the cached lookup: a client whose account was just removed must be refused at once.
    const exists = isLocalUsername(username) && (await existingUsernames(ctx.sql, [username])).has(username);
    if (!exists) throw rejection(404, "unknownInbox", `no user ${username} on this provider`);

    const route = routeOutboxActivity(ctx.urls, activity);
    if (route.kind === "invalid") throw rejection(400, route.reason, route.detail);
    const now = ctx.now().toISOString();
    const headers = traceHeaders(req.headers);
    const key = { activityId: activity.id, target: targetKey({ kind: "outbox", username }), sender: actor };
    if (route.kind === "channel") {
      // A Create{Service} names a channel that does not exist yet (the sequencer refuses duplicate
      // creations with a Reject); anything else must name an existing channel, since the sequencer
      // has nobody to answer for an unknown one.
      if (!isChannelCreation(activity)) await requireLocalChannel(ctx, route.channelId, "unknownChannel");
      await publishToChannel(ctx, req, res, {
        route: "outbox",
        channelId: route.channelId,
        activity,
        sender: actor,
        via: "outbox",
        dedupeTarget: key.target,
      });
      return;
    }
    await publishOnce(ctx, res, {
      route: "outbox",
      key,
      type: activity.type,
      topic: deliveryRequestsTopic.name,
      messages: [
        deliveryRequestsTopic.message(
          // The author's activities keep their order on the way out, as a channel's do.
          deliveryRequestKey({ signAs: actor }),
          {
            activityId: activity.id,
            activity: route.activity,
            signAs: actor,
            audience: route.audience,
            exclude: [actor],
            requestedAt: now,
          },
          headers,
        ),
      ],
    });
  };
}

function isChannelCreation(activity: Record<string, unknown>): boolean {
  const object = activity.object;
  return (
    activity.type === "Create" &&
    typeof object === "object" &&
    object !== null &&
    "type" in object &&
    object.type === "Service"
  );
}

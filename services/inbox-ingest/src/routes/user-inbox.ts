import { isLocalUsername } from "@mimi/activitypub";
import { userInboxTopic } from "@mimi/topics";
import type { RequestHandler } from "express";
import type { InboxIngestContext } from "../context.js";
import { type InboxTarget, targetKey } from "../domain/addressing.js";
import { authenticateInboxDelivery } from "../ingest/authenticate.js";
import { publishForwarded } from "../ingest/publish-channel.js";
import { publishOnce, traceHeaders } from "../ingest/publish-once.js";
import { bodyBytesOf, readActivity } from "../ingest/read-activity.js";
import { rejection } from "../ingest/rejections.js";

/**
 * `POST /users/:username/inbox`: a signed delivery to one local user, published to `user.inbox` for
 * that user. The owner of the inbox is the recipient of an author's activity whatever the addressing
 * says. A channel's forward goes to the local recipients of the forward (see `publishForwarded`).
 */
export function userInbox(ctx: InboxIngestContext): RequestHandler {
  return async (req, res) => {
    const username = String(req.params.username);
    const body = bodyBytesOf(req);
    const activity = readActivity(body);
    const target: InboxTarget = { kind: "user", username };
    const delivery = await authenticateInboxDelivery(ctx, req, body, activity, target);
    const exists = isLocalUsername(username) && (await ctx.accounts.existing([username])).has(username);
    if (!exists) throw rejection(404, "unknownInbox", `no user ${username} on this provider`);
    if (delivery.basis === "channelForward") {
      await publishForwarded(ctx, req, res, {
        route: "userInbox",
        activity,
        channel: delivery.sender,
        members: delivery.members,
      });
      return;
    }
    const { sender } = delivery;
    const receivedAt = ctx.now().toISOString();
    const headers = traceHeaders(req.headers);
    await publishOnce(ctx, res, {
      route: "userInbox",
      key: { activityId: activity.id, target: targetKey(target), sender },
      type: activity.type,
      topic: userInboxTopic.name,
      messages: [
        userInboxTopic.message(
          username,
          { username, activityId: activity.id, activity, deliveredBy: sender, receivedAt },
          headers,
        ),
      ],
    });
  };
}

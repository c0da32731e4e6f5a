import { userInboxTopic } from "@mimi/topics";
import type { RequestHandler } from "express";
import type { InboxIngestContext } from "../context.js";
import { addressedLocalUsernames, type InboxTarget, targetKey } from "../domain/addressing.js";
import { sharedInboxChannelOf } from "../domain/channel-forwarding.js";
import { authenticateInboxDelivery } from "../ingest/authenticate.js";
import { publishForwarded, publishToChannel, requireLocalChannel } from "../ingest/publish-channel.js";
import { publishOnce, traceHeaders } from "../ingest/publish-once.js";
import { bodyBytesOf, readActivity } from "../ingest/read-activity.js";
import { rejection } from "../ingest/rejections.js";

/**
 * `POST /inbox`: one signed delivery for several local users, or for a local channel.
 * - A channel's forward of a member's activity: one `user.inbox` item per local recipient of the
 *   forward (local members of the channel, the local object of an Add or Remove).
 * - An author's submission to a local channel (its `target`, or the channel's followers in `to`):
 *   `channel.inbox`, because other providers reach a channel through its `endpoints.sharedInbox`.
 * - Anything else: one `user.inbox` item for each local user named in `to`/`cc` that has an
 *   account. Nobody local addressed: 202, nothing published.
 */
export function sharedInbox(ctx: InboxIngestContext): RequestHandler {
  return async (req, res) => {
    const body = bodyBytesOf(req);
    const activity = readActivity(body);
    const target: InboxTarget = { kind: "shared" };
    const delivery = await authenticateInboxDelivery(ctx, req, body, activity, target);
    if (delivery.basis === "channelForward") {
      await publishForwarded(ctx, req, res, {
        route: "sharedInbox",
        activity,
        channel: delivery.sender,
        members: delivery.members,
      });
      return;
    }
    const { sender } = delivery;
    const channel = sharedInboxChannelOf(ctx.urls, activity);
    if (channel !== undefined) {
      if ("ambiguous" in channel) {
        throw rejection(
          400,
          "ambiguousChannel",
          `the activity names several channels of this provider (${channel.ambiguous.join(", ")})`,
        );
      }
      await requireLocalChannel(ctx, channel.channelId);
      await publishToChannel(ctx, req, res, {
        route: "sharedInbox",
        channelId: channel.channelId,
        activity,
        sender,
        via: "sharedInbox",
      });
      return;
    }
    const addressed = addressedLocalUsernames(ctx.urls, activity);
    const existing = await ctx.accounts.existing(addressed);
    const recipients = addressed.filter((name) => existing.has(name));
    if (recipients.length === 0) {
      ctx.outcomes.dropped("sharedInbox", "noLocalRecipient");
      ctx.logger.info(
        { activityId: activity.id, type: activity.type, sender },
        "shared inbox delivery addresses no local user; dropped",
      );
      res.status(202).end();
      return;
    }
    const receivedAt = ctx.now().toISOString();
    const headers = traceHeaders(req.headers);
    await publishOnce(ctx, res, {
      route: "sharedInbox",
      key: { activityId: activity.id, target: targetKey(target), sender },
      type: activity.type,
      topic: userInboxTopic.name,
      messages: recipients.map((username) =>
        userInboxTopic.message(
          username,
          { username, activityId: activity.id, activity, deliveredBy: sender, receivedAt },
          headers,
        ),
      ),
    });
  };
}

import type { RequestHandler } from "express";
import type { InboxIngestContext } from "../context.js";
import type { InboxTarget } from "../domain/addressing.js";
import { authenticateInboxDelivery } from "../ingest/authenticate.js";
import { publishToChannel, requireLocalChannel } from "../ingest/publish-channel.js";
import { bodyBytesOf, readActivity } from "../ingest/read-activity.js";

/**
 * `POST /channels/:channelId/inbox`: a signed activity for a channel hosted here (from a member on
 * another provider), published to `channel.inbox` keyed by the channel for its sequencer.
 */
export function channelInbox(ctx: InboxIngestContext): RequestHandler {
  return async (req, res) => {
    const channelId = String(req.params.channelId);
    const body = bodyBytesOf(req);
    const activity = readActivity(body);
    const target: InboxTarget = { kind: "channel", channelId };
    const { sender } = await authenticateInboxDelivery(ctx, req, body, activity, target);
    await requireLocalChannel(ctx, channelId);
    await publishToChannel(ctx, req, res, {
      route: "channelInbox",
      channelId,
      activity,
      sender,
      via: "channelInbox",
    });
  };
}

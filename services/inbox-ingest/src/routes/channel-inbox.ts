import { channelInboxTopic } from "@mimi/topics";
import type { RequestHandler } from "express";
import type { InboxIngestContext } from "../context.js";
import { type InboxTarget, targetKey } from "../domain/addressing.js";
import { authenticateInboxDelivery } from "../ingest/authenticate.js";
import { publishOnce, traceHeaders } from "../ingest/publish-once.js";
import { bodyBytesOf, readActivity } from "../ingest/read-activity.js";
import { rejection } from "../ingest/rejections.js";

const MAX_CHANNEL_ID_LENGTH = 200;

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
    const exists = channelId.length <= MAX_CHANNEL_ID_LENGTH && (await channelExists(ctx, channelId));
    if (!exists) throw rejection(404, "unknownInbox", `no channel ${channelId} on this provider`);
    await publishOnce(ctx, res, {
      route: "channelInbox",
      key: { activityId: activity.id, target: targetKey(target), sender },
      type: activity.type,
      topic: channelInboxTopic.name,
      messages: [
        channelInboxTopic.message(
          channelId,
          {
            channelId,
            activity,
            authenticatedActor: sender,
            via: "channelInbox",
            receivedAt: ctx.now().toISOString(),
          },
          traceHeaders(req.headers),
        ),
      ],
    });
  };
}

async function channelExists(ctx: InboxIngestContext, channelId: string): Promise<boolean> {
  try {
    return await ctx.ports.channelExists(channelId);
  } catch (error) {
    ctx.logger.warn({ err: error, channelId }, "channel lookup failed");
    throw rejection(503, "channelLookupFailed", "could not check the channel; retry later", {
      headers: { "retry-after": "30" },
    });
  }
}

import type { RequestHandler } from "express";
import type { InboxIngestContext } from "../context.js";
import { inboxHandler } from "./inbox.js";

/**
 * `POST /channels/:channelId/inbox`: a signed activity for a channel hosted here (from a member on
 * another provider), published to `channel.inbox` keyed by the channel for its sequencer.
 */
export function channelInbox(ctx: InboxIngestContext): RequestHandler {
  return inboxHandler(ctx, "channelInbox", (request) => ({
    kind: "channel",
    channelId: String(request.params.channelId),
  }));
}

import { ACTIVITY_JSON } from "@mimi/activitypub";
import { problems } from "@mimi/service-kit";
import type { RequestHandler } from "express";
import type { ChannelSequencerContext } from "../context.js";
import { groupInfoDocument } from "../domain/documents.js";
import { requireChannelReader } from "../http/reader-auth.js";

/** `GET /channels/:id/groupInfo`: the latest GroupInfo (with the ratchet tree), same readers as the followers. */
export function channelGroupInfo(ctx: ChannelSequencerContext): RequestHandler {
  return async (req, res) => {
    const channelId = String(req.params.id);
    await requireChannelReader(ctx, req, res, channelId, "groupInfo");
    const latest = await ctx.store.groupInfo(channelId);
    if (!latest) throw problems.notFound(`no channel ${channelId}`);
    res.setHeader("cache-control", "private, no-store");
    res
      .type(ACTIVITY_JSON)
      .send(JSON.stringify(groupInfoDocument(ctx.urls, channelId, latest.epoch, latest.groupInfo)));
  };
}

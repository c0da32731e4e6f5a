import type { RequestHandler } from "express";
import type { ChannelSequencerContext } from "../context.js";
import { logPage } from "../domain/documents.js";
import { logPageParameters, requireChannelReader } from "../http/reader-auth.js";

/** `GET /channels/:id/log?after=&limit=`: accepted activities in log order, same readers as the followers. */
export function channelLog(ctx: ChannelSequencerContext): RequestHandler {
  return async (req, res) => {
    const channelId = String(req.params.id);
    const { after, limit } = logPageParameters(ctx, req.query);
    await requireChannelReader(ctx, req, res, channelId, "log");
    const entries = await ctx.store.log(channelId, after, limit);
    res.setHeader("cache-control", "private, no-store");
    res.json(logPage(ctx.urls, channelId, entries, limit));
  };
}

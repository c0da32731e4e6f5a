import { ACTIVITY_JSON } from "@mimi/activitypub";
import type { RequestHandler } from "express";
import type { ChannelSequencerContext } from "../context.js";
import { followersCollection } from "../domain/documents.js";
import { requireFollowersReader } from "../http/reader-auth.js";

/**
 * `GET /channels/:id/followers`: the members and their roles, for servers hosting one (or whose member
 * was removed within the grace period) and for local members.
 */
export function channelFollowers(ctx: ChannelSequencerContext): RequestHandler {
  return async (req, res) => {
    const channelId = String(req.params.id);
    const roles = await requireFollowersReader(ctx, req, res, channelId);
    res.setHeader("cache-control", "private, no-store");
    res.type(ACTIVITY_JSON).send(JSON.stringify(followersCollection(ctx.urls, channelId, roles)));
  };
}

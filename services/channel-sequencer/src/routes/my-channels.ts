import { principalOf } from "@mimi/auth";
import type { RequestHandler } from "express";
import type { ChannelSequencerContext } from "../context.js";

/** `GET /api/v1/channels`: the local channels the token's user is a member of. */
export function myChannels(ctx: ChannelSequencerContext): RequestHandler {
  return async (_req, res) => {
    const { username } = principalOf(res);
    const channels = await ctx.store.channelsFollowedBy(ctx.urls.actor(username));
    res.setHeader("cache-control", "private, no-store");
    res.json({
      channels: channels.map((channel) => ({
        id: ctx.urls.channel(channel.id),
        name: channel.name,
        epoch: channel.epoch,
      })),
    });
  };
}

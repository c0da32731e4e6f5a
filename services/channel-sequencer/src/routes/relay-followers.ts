import type { RequestHandler } from "express";
import type { ChannelSequencerContext } from "../context.js";
import { relayChannelRead } from "../http/relay.js";

/** `GET /api/v1/channels/followers?channel=C`: a member's client reads the channel's followers through its home server. */
export function relayFollowers(ctx: ChannelSequencerContext): RequestHandler {
  return (req, res) => relayChannelRead(ctx, req, res, "followers");
}

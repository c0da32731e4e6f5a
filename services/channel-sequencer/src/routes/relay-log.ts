import type { RequestHandler } from "express";
import type { ChannelSequencerContext } from "../context.js";
import { relayChannelRead } from "../http/relay.js";

/** `GET /api/v1/channels/log?channel=C`: a member's client reads the channel's log through its home server. */
export function relayLog(ctx: ChannelSequencerContext): RequestHandler {
  return (req, res) => relayChannelRead(ctx, req, res, "log");
}

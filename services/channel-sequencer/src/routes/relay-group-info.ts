import type { RequestHandler } from "express";
import type { ChannelSequencerContext } from "../context.js";
import { relayChannelRead } from "../http/relay.js";

/** `GET /api/v1/channels/group-info?channel=C`: a member's client reads the channel's groupInfo through its home server. */
export function relayGroupInfo(ctx: ChannelSequencerContext): RequestHandler {
  return (req, res) => relayChannelRead(ctx, req, res, "groupInfo");
}

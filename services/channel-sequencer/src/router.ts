import { requireBearer } from "@mimi/auth";
import { Router } from "express";
import type { ChannelSequencerContext } from "./context.js";
import { channelActor } from "./routes/channel-actor.js";
import { channelFollowers } from "./routes/channel-followers.js";
import { channelGroupInfo } from "./routes/channel-group-info.js";
import { channelLog } from "./routes/channel-log.js";
import { myChannels } from "./routes/my-channels.js";
import { relayFollowers } from "./routes/relay-followers.js";
import { relayGroupInfo } from "./routes/relay-group-info.js";
import { relayLog } from "./routes/relay-log.js";
import { rememberChannel, rememberedChannels } from "./routes/remembered-channels.js";

/** The sequencer's public surface: channel actor documents, member-only reads, and client relays. */
export function channelSequencerRouter(ctx: ChannelSequencerContext): Router {
  const router = Router();
  const auth = requireBearer(ctx.tokens);
  router.get("/channels/:id", channelActor(ctx));
  router.get("/channels/:id/followers", channelFollowers(ctx));
  router.get("/channels/:id/groupInfo", channelGroupInfo(ctx));
  router.get("/channels/:id/log", channelLog(ctx));
  router.get("/api/v1/channels", auth, myChannels(ctx));
  router.get("/api/v1/channels/followers", auth, relayFollowers(ctx));
  router.get("/api/v1/channels/group-info", auth, relayGroupInfo(ctx));
  router.get("/api/v1/channels/log", auth, relayLog(ctx));
  router.get("/api/v1/channels/remembered", auth, rememberedChannels(ctx));
  router.put("/api/v1/channels/remembered", auth, rememberChannel(ctx));
  return router;
}

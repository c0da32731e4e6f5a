import { ACTIVITY_JSON } from "@mimi/activitypub";
import { problems } from "@mimi/service-kit";
import type { RequestHandler } from "express";
import type { ChannelSequencerContext } from "../context.js";
import { serviceActorDocument } from "../domain/documents.js";
import { dmDocumentFields } from "../sequencer/dm-document.js";

/** `GET /channels/:id`: the channel's Service actor, for anyone; a DM group's adds its participants. */
export function channelActor(ctx: ChannelSequencerContext): RequestHandler {
  return async (req, res) => {
    const channelId = String(req.params.id);
    const channel = await ctx.store.channel(channelId);
    if (!channel) throw problems.notFound(`no channel ${channelId}`);
    const keys = await ctx.actorKeys.ensureKeys(ctx.urls.channel(channelId));
    // A participant who cannot be resolved now is a peer's outage: 503, so readers keep the document
    // they had rather than get one without that participant.
    const dmFields = await dmDocumentFields(ctx, channel).catch((error: unknown) => {
      throw problems.unavailable(error instanceof Error ? error.message : String(error));
    });
    const document = { ...serviceActorDocument(ctx.urls, channel, keys), ...dmFields };
    res.type(ACTIVITY_JSON).send(JSON.stringify(document));
  };
}

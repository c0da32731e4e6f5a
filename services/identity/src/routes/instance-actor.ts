import { ACTIVITY_JSON } from "@mimi/activitypub";
import type { RequestHandler } from "express";
import type { IdentityContext } from "../context.js";
import { instanceActorDocument } from "../domain/documents.js";

/** `GET /actor`: the provider's own actor, whose key signs outgoing fetches. */
export function instanceActor(ctx: IdentityContext): RequestHandler {
  return async (_req, res) => {
    const keys = await ctx.actorKeys.ensureKeys(ctx.urls.instanceActor);
    res.type(ACTIVITY_JSON).send(JSON.stringify(instanceActorDocument(ctx.urls, keys)));
  };
}

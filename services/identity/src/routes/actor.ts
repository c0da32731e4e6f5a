import { ACTIVITY_JSON, isLocalUsername, wantsActivityJson } from "@mimi/activitypub";
import { problems } from "@mimi/service-kit";
import type { RequestHandler } from "express";
import { findAccount, findDeletedAccount } from "../accounts.js";
import type { IdentityContext } from "../context.js";
import { personDocument, profilePage } from "../domain/documents.js";
import { goneProblem } from "./delete-account.js";

/** `GET /users/:username`: the Person actor as JSON for ActivityPub clients, a small page for browsers. */
export function actor(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const username = String(req.params.username);
    const account = isLocalUsername(username) ? await findAccount(ctx.sql, username) : undefined;
    if (!account && isLocalUsername(username) && (await findDeletedAccount(ctx.sql, username)))
      throw goneProblem(username);
    if (!account) throw problems.notFound(`no user ${username}`);
    res.vary("Accept");
    if (!wantsActivityJson(req.headers.accept)) {
      res.type("html").send(profilePage(ctx.urls, username));
      return;
    }
    const actorId = ctx.urls.actor(username);
    const keys = await ctx.actorKeys.ensureKeys(actorId);
    res
      .type(ACTIVITY_JSON)
      .send(JSON.stringify(personDocument(ctx.urls, username, keys, account.created_at)));
  };
}

/** `GET /@:username`: the profile page the WebFinger profile link points to. */
export function profile(ctx: IdentityContext): RequestHandler {
  return async (req, res) => {
    const username = String(req.params.username);
    const account = isLocalUsername(username) ? await findAccount(ctx.sql, username) : undefined;
    if (!account) throw problems.notFound(`no user ${username}`);
    if (wantsActivityJson(req.headers.accept)) {
      res.redirect(303, ctx.urls.actor(username));
      return;
    }
    res.type("html").send(profilePage(ctx.urls, username));
  };
}

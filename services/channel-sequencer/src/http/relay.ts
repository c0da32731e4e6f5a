import { ACTIVITY_JSON } from "@mimi/activitypub";
import { principalOf } from "@mimi/auth";
import { ProblemError, problems } from "@mimi/service-kit";
import type { Request, Response } from "express";
import type { ChannelSequencerContext } from "../context.js";
import type { ChannelResource } from "../domain/access.js";
import { followersCollection, groupInfoDocument, logPage } from "../domain/documents.js";
import { localChannelIdOf } from "../domain/identifiers.js";
import { logPageParameters, requireChannelReader, requireFollowersReader } from "./reader-auth.js";

const badGateway = (detail: string) => new ProblemError(502, "Bad Gateway", detail);

/**
 * The client-facing reads of `/api/v1/channels/...?channel=C` (bearer token): a local channel is
 * answered directly when the token's user is a member; a remote one is fetched from its host, signed
 * as this provider's instance actor, after checking in its followers that the user is a member.
 */
export async function relayChannelRead(
  ctx: ChannelSequencerContext,
  req: Request,
  res: Response,
  resource: ChannelResource,
): Promise<void> {
  const actorUrl = ctx.urls.actor(principalOf(res).username);
  const channelUrl = req.query.channel;
  if (typeof channelUrl !== "string" || !isHttpUrl(channelUrl)) {
    throw problems.badRequest("the channel query parameter must be the channel's URL");
  }
  const page = resource === "log" ? logPageParameters(ctx, req.query) : undefined;
  res.setHeader("cache-control", "private, no-store");

  const localId = localChannelIdOf(ctx.urls, channelUrl);
  if (localId !== undefined) {
    const reader = { kind: "localUser", actorUrl } as const;
    if (resource === "followers") {
      const roles = await requireFollowersReader(ctx, req, res, localId, reader);
      res.type(ACTIVITY_JSON).send(JSON.stringify(followersCollection(ctx.urls, localId, roles)));
      return;
    }
    await requireChannelReader(ctx, req, res, localId, resource, reader);
    if (resource === "groupInfo") {
      const latest = await ctx.store.groupInfo(localId);
      if (!latest) throw problems.notFound(`no channel ${localId}`);
      res
        .type(ACTIVITY_JSON)
        .send(JSON.stringify(groupInfoDocument(ctx.urls, localId, latest.epoch, latest.groupInfo)));
    } else if (page) {
      res.json(logPage(ctx.urls, localId, await ctx.store.log(localId, page.after, page.limit), page.limit));
    }
    return;
  }

  const base = channelUrl.replace(/\/+$/, "");
  const followers = await fetchRemote(ctx, `${base}/followers`);
  if (!memberListOf(followers).includes(actorUrl))
    throw problems.forbidden("you are not a member of this channel");
  if (resource === "followers") {
    res.type(ACTIVITY_JSON).send(JSON.stringify(followers));
    return;
  }
  const url =
    resource === "groupInfo"
      ? `${base}/groupInfo`
      : `${base}/log?after=${page?.after ?? 0}&limit=${page?.limit ?? ctx.settings.logPageLimit}`;
  const document = await fetchRemote(ctx, url);
  if (resource === "groupInfo") res.type(ACTIVITY_JSON).send(JSON.stringify(document));
  else res.json(document);
}

async function fetchRemote(ctx: ChannelSequencerContext, url: string): Promise<unknown> {
  const result = await ctx.signedGet(url);
  if (result.kind === "failed" || result.kind === "blocked") {
    ctx.logger.info({ url, detail: result.detail }, "remote channel read failed");
    throw badGateway("the channel's server could not be reached");
  }
  // What a channel says about itself counts only from its own origin, whatever a redirect says.
  if (new URL(result.url).origin !== new URL(url).origin) {
    ctx.logger.info({ url, answeredBy: result.url }, "remote channel read redirected to another origin");
    throw badGateway("the channel's server redirected the read to another origin");
  }
  if (result.kind === "status") {
    if (result.status === 404 || result.status === 410)
      throw problems.notFound("the channel's server does not know this channel");
    if (result.status === 401 || result.status === 403) {
      throw problems.forbidden("the channel's server does not let this provider read the channel");
    }
    throw badGateway(`the channel's server answered ${result.status} without a usable document`);
  }
  if (typeof result.document !== "object" || result.document === null) {
    throw badGateway(`the channel's server answered ${result.status} without a usable document`);
  }
  return result.document;
}

/** The actor URLs of a followers collection (`orderedItems` or `items`). */
export function memberListOf(collection: unknown): string[] {
  if (typeof collection !== "object" || collection === null) return [];
  const record = collection as Record<string, unknown>;
  const items = Array.isArray(record.orderedItems)
    ? record.orderedItems
    : Array.isArray(record.items)
      ? record.items
      : [];
  return items.filter((item): item is string => typeof item === "string");
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

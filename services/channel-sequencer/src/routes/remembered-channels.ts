import { principalOf } from "@mimi/auth";
import { ProblemError, problems } from "@mimi/service-kit";
import type { RequestHandler } from "express";
import type { ChannelSequencerContext } from "../context.js";
import { localChannelIdOf } from "../domain/identifiers.js";
import { memberListOf } from "../http/relay.js";

/**
 * The channels on other providers that this provider's users are members of, as their clients report
 * them, so that a user's new device finds them (docs/protocol.md 6.4.11): no provider otherwise keeps
 * a list of its users' remote channels. A channel is recorded only after its own server's followers
 * collection (fetched signed as the instance actor) lists the user; local channels need no record.
 */

/** A user's remembered channels at most; the oldest go first. */
export const MAX_REMEMBERED_CHANNELS_PER_USER = 1_000;

const badGateway = (detail: string) => new ProblemError(502, "Bad Gateway", detail);

function channelQuery(value: unknown): string {
  if (typeof value === "string") {
    try {
      const url = new URL(value);
      if (url.protocol === "https:" || url.protocol === "http:") return value;
    } catch {
      // answered below
    }
  }
  throw problems.badRequest("the channel query parameter must be the channel's URL");
}

/** Whether the channel's own server lists `actorUrl` among its followers. */
async function isRemoteFollower(ctx: ChannelSequencerContext, channelUrl: string, actorUrl: string) {
  const url = `${channelUrl.replace(/\/+$/, "")}/followers`;
  const result = await ctx.signedGet(url);
  if (result.kind === "failed" || result.kind === "blocked")
    throw badGateway("the channel's server could not be reached");
  // What a channel says about itself counts only from its own origin, whatever a redirect says.
  if (new URL(result.url).origin !== new URL(url).origin)
    throw badGateway("the channel's server redirected the read to another origin");
  if (result.kind === "status") {
    if (result.status === 404 || result.status === 410)
      throw problems.notFound("the channel's server does not know this channel");
    if (result.status === 401 || result.status === 403) return false;
    throw badGateway(`the channel's server answered ${result.status}`);
  }
  return memberListOf(result.document).includes(actorUrl);
}

/**
 * `PUT /api/v1/channels/remembered?channel=C`: records that the token's user is a member of the remote
 * channel `C` (204), after `C`'s server confirms it; 403 when it does not. A local channel is not
 * recorded (its membership is the channel's own) and answers 204 as well.
 */
export function rememberChannel(ctx: ChannelSequencerContext): RequestHandler {
  return async (req, res) => {
    const actorUrl = ctx.urls.actor(principalOf(res).username);
    const channelUrl = channelQuery(req.query.channel);
    if (localChannelIdOf(ctx.urls, channelUrl) === undefined) {
      if (!(await isRemoteFollower(ctx, channelUrl, actorUrl)))
        throw problems.forbidden("you are not a member of this channel");
      await ctx.sql.query(
        `insert into channels.remembered_channels (actor_url, channel_url, recorded_at) values ($1, $2, now())
         on conflict (actor_url, channel_url) do update set recorded_at = excluded.recorded_at`,
        [actorUrl, channelUrl],
      );
      await ctx.sql.query(
        `delete from channels.remembered_channels where actor_url = $1 and channel_url in (
           select channel_url from channels.remembered_channels where actor_url = $1
           order by recorded_at desc offset $2)`,
        [actorUrl, MAX_REMEMBERED_CHANNELS_PER_USER],
      );
    }
    res.setHeader("cache-control", "private, no-store");
    res.status(204).end();
  };
}

/** `GET /api/v1/channels/remembered`: the remote channels the token's user was recorded in, newest first. */
export function rememberedChannels(ctx: ChannelSequencerContext): RequestHandler {
  return async (_req, res) => {
    const actorUrl = ctx.urls.actor(principalOf(res).username);
    const result = await ctx.sql.query<{ channel_url: string; recorded_at: Date }>(
      `select channel_url, recorded_at from channels.remembered_channels
       where actor_url = $1 order by recorded_at desc limit $2`,
      [actorUrl, MAX_REMEMBERED_CHANNELS_PER_USER],
    );
    res.setHeader("cache-control", "private, no-store");
    res.json({
      channels: result.rows.map((row) => ({
        id: row.channel_url,
        recordedAt: new Date(row.recorded_at).toISOString(),
      })),
    });
  };
}

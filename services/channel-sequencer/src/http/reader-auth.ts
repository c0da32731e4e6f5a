import { verifyRequest } from "@mimi/http-signatures";
import { problems } from "@mimi/service-kit";
import type { Request, Response } from "express";
import type { ChannelSequencerContext } from "../context.js";
import { decideReaderAccess, type Reader } from "../domain/access.js";
import type { RoleTable } from "../domain/roles.js";

const BEARER = /^Bearer\s+(\S+)$/i;
const CHALLENGE = 'Bearer realm="mimi", Signature headers="(request-target) host date"';

/**
 * Who is asking: a local user by bearer token, or a server by HTTP signature (the key owner).
 * 401 when neither is present or valid.
 */
export async function authenticateReader(
  ctx: ChannelSequencerContext,
  req: Request,
  res: Response,
): Promise<Reader> {
  const authorization = req.headers.authorization;
  if (authorization !== undefined) {
    const token = BEARER.exec(authorization)?.[1];
    const checked = token === undefined ? undefined : await ctx.tokens.check(token);
    if (!checked?.ok) {
      res.setHeader("www-authenticate", 'Bearer realm="mimi", error="invalid_token"');
      throw checked?.reason === "sessionExpired"
        ? problems.unauthorized("the session has expired: log in again", { reason: "sessionExpired" })
        : problems.unauthorized("the bearer token is not valid");
    }
    return { kind: "localUser", actorUrl: ctx.urls.actor(checked.principal.username) };
  }
  if (req.headers.signature !== undefined || req.headers["signature-input"] !== undefined) {
    const verified = await verifyRequest(
      { method: req.method, path: req.originalUrl, headers: req.headers },
      ctx.keys,
      { now: ctx.now(), clockSkewSeconds: ctx.settings.clockSkewSeconds, scheme: ctx.publicScheme },
    );
    if (!verified.ok) {
      ctx.logger.info(
        { reason: verified.reason, detail: verified.detail, path: req.path },
        "signed channel read refused",
      );
      res.setHeader("www-authenticate", CHALLENGE);
      // Why a key could not be fetched stays in our logs: the answer must not map our network for the caller.
      throw problems.unauthorized(
        verified.reason === "keyFetchError"
          ? "the signature's key could not be fetched or used"
          : verified.detail,
        { reason: verified.reason },
      );
    }
    return { kind: "server", signer: verified.keyOwner };
  }
  res.setHeader("www-authenticate", CHALLENGE);
  throw problems.unauthorized("sign the request, or use a member's bearer token");
}

/**
 * The gate of `GET C/groupInfo` and `GET C/log`: the channel exists (404), the caller is
 * authenticated (401) and is a member or a server hosting one (403).
 */
export async function requireChannelReader(
  ctx: ChannelSequencerContext,
  req: Request,
  res: Response,
  channelId: string,
  resource: "groupInfo" | "log",
  reader?: Reader,
): Promise<void> {
  const followers = await ctx.store.followers(channelId);
  if (followers === undefined) throw problems.notFound(`no channel ${channelId}`);
  const who = reader ?? (await authenticateReader(ctx, req, res));
  const access = decideReaderAccess(who, {
    resource,
    followers,
    removed: [],
    now: ctx.now(),
    removedReaderGraceSeconds: ctx.settings.removedReaderGraceSeconds,
  });
  if (!access.allow) throw problems.forbidden(access.detail);
}

/**
 * The gate of `GET F`, as `requireChannelReader`, but a server whose member was removed less than
 * `MIMI_CHANNEL_REMOVED_READER_GRACE_SECONDS` ago may read too. Returns the members with their roles.
 */
export async function requireFollowersReader(
  ctx: ChannelSequencerContext,
  req: Request,
  res: Response,
  channelId: string,
  reader?: Reader,
): Promise<RoleTable> {
  const now = ctx.now();
  const graceSeconds = ctx.settings.removedReaderGraceSeconds;
  const view = await ctx.store.followersView(channelId, new Date(now.getTime() - graceSeconds * 1000));
  if (view === undefined) throw problems.notFound(`no channel ${channelId}`);
  const who = reader ?? (await authenticateReader(ctx, req, res));
  const access = decideReaderAccess(who, {
    resource: "followers",
    followers: [...view.roles.keys()],
    removed: view.removed,
    now,
    removedReaderGraceSeconds: graceSeconds,
  });
  if (!access.allow) throw problems.forbidden(access.detail);
  return view.roles;
}

/** `after` and `limit` of a log request; 400 when malformed. */
export function logPageParameters(
  ctx: ChannelSequencerContext,
  query: Request["query"],
): { after: number; limit: number } {
  const read = (name: string, fallback: number, min: number, max: number) => {
    const value = query[name];
    if (value === undefined) return fallback;
    if (typeof value !== "string" || !/^\d{1,15}$/.test(value))
      throw problems.badRequest(`${name} must be a non-negative integer`);
    const number = Number(value);
    if (number < min || number > max) throw problems.badRequest(`${name} must be between ${min} and ${max}`);
    return number;
  };
  const maxLimit = ctx.settings.logPageLimit;
  // A larger page than this server serves is not an error: a peer configured otherwise asks with its
  // own page size, and gets this server's largest page (paging goes on through `next`).
  const limit = Math.min(read("limit", maxLimit, 1, Number.MAX_SAFE_INTEGER), maxLimit);
  return { after: read("after", 0, 0, Number.MAX_SAFE_INTEGER), limit };
}

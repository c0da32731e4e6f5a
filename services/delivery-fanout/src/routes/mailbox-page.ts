import { principalOf, requireSelf } from "@mimi/auth";
import type { RequestHandler, Response } from "express";
import type { DeliveryFanoutContext } from "../context.js";
import { parseCursor, parseLimit } from "./paging.js";

/**
 * `GET /users/:username/inbox?after=&limit=` (owner only) and `GET /api/v1/mailbox?after=&limit=`
 * (the token's user) -> `{ items: [{ cursor, activityId, activity, deliveredBy, receivedAt }], next }`, oldest
 * first. `next` is the cursor to pass as `after` for the following page (the last item's, or `after`
 * itself when there was nothing new), so clients can always keep polling with it.
 */
export function userInboxPage(ctx: DeliveryFanoutContext): RequestHandler {
  return async (req, res) => {
    const { username } = requireSelf(res, String(req.params.username));
    await sendPage(ctx, username, req.query, res);
  };
}

export function ownMailboxPage(ctx: DeliveryFanoutContext): RequestHandler {
  return async (req, res) => {
    const { username } = principalOf(res);
    await sendPage(ctx, username, req.query, res);
  };
}

async function sendPage(
  ctx: DeliveryFanoutContext,
  username: string,
  query: Record<string, unknown>,
  res: Response,
) {
  const after = parseCursor(query.after, "after");
  const limit = parseLimit(
    query.limit,
    ctx.settings.mailbox.defaultPageSize,
    ctx.settings.mailbox.maxPageSize,
  );
  const items = await ctx.mailbox.page(username, after, limit);
  res.setHeader("cache-control", "no-store");
  res.json({ items, next: items.at(-1)?.cursor ?? after });
}

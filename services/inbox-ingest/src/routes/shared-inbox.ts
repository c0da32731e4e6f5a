import type { RequestHandler } from "express";
import type { InboxIngestContext } from "../context.js";
import { inboxHandler } from "./inbox.js";

/**
 * `POST /inbox`: one signed delivery for several local users, or for a local channel.
 * - A channel's forward of a member's activity: one `user.inbox` item per local recipient of the
 *   forward (local members of the channel, the local object of an Add or Remove).
 * - An author's submission to a local channel (its `target`, or the channel's followers in `to`):
 *   `channel.inbox`, because other providers reach a channel through its `endpoints.sharedInbox`.
 * - Anything else: one `user.inbox` item for each local user named in `to`/`cc` that has an
 *   account. Nobody local addressed: 202, nothing published.
 */
export function sharedInbox(ctx: InboxIngestContext): RequestHandler {
  return inboxHandler(ctx, "sharedInbox", () => ({ kind: "shared" }));
}

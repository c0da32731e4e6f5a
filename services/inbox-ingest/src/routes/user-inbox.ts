import type { RequestHandler } from "express";
import type { InboxIngestContext } from "../context.js";
import { inboxHandler } from "./inbox.js";

/**
 * `POST /users/:username/inbox`: a signed delivery to one local user, published to `user.inbox` for
 * that user. The owner of the inbox is the recipient of an author's activity whatever the addressing
 * says. A channel's forward goes to the local recipients of the forward (`routeInboxDelivery`).
 */
export function userInbox(ctx: InboxIngestContext): RequestHandler {
  return inboxHandler(ctx, "userInbox", (request) => ({
    kind: "user",
    username: String(request.params.username),
  }));
}

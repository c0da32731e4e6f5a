import { requireBearer } from "@mimi/auth";
import { Router } from "express";
import type { DeliveryFanoutContext } from "./context.js";
import { ownMailboxPage, userInboxPage } from "./routes/mailbox-page.js";
import { ownMailboxStream, userInboxStream } from "./routes/mailbox-stream.js";

/**
 * The client mailbox. `POST /users/:username/inbox` belongs to inbox-ingest; an ingress that routes by
 * path only sends `/users/...` there, so clients use the `/api/v1/mailbox` forms.
 */
export function deliveryFanoutRouter(ctx: DeliveryFanoutContext): Router {
  const router = Router();
  const auth = requireBearer(ctx.tokens);
  router.get("/api/v1/mailbox", auth, ownMailboxPage(ctx));
  router.get("/api/v1/mailbox/stream", auth, ownMailboxStream(ctx));
  router.get("/users/:username/inbox", auth, userInboxPage(ctx));
  router.get("/users/:username/inbox/stream", auth, userInboxStream(ctx));
  return router;
}

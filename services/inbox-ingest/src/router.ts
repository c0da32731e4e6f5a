import { type ErrorRequestHandler, Router } from "express";
import type { InboxIngestContext } from "./context.js";
import type { IngestRoute } from "./ingest/outcomes.js";
import { activityBody } from "./ingest/read-activity.js";
import { reasonOf } from "./ingest/rejections.js";
import { channelInbox } from "./routes/channel-inbox.js";
import { outbox } from "./routes/outbox.js";
import { sharedInbox } from "./routes/shared-inbox.js";
import { userInbox } from "./routes/user-inbox.js";

/** Every inbox of the provider and every client outbox. */
export function inboxIngestRouter(ctx: InboxIngestContext): Router {
  const router = Router();
  const body = (route: IngestRoute) => activityBody(route, ctx.settings.bodyLimitBytes);

  router.post("/users/:username/inbox", body("userInbox"), userInbox(ctx));
  router.post("/channels/:channelId/inbox", body("channelInbox"), channelInbox(ctx));
  router.post("/inbox", body("sharedInbox"), sharedInbox(ctx));
  router.post("/users/:username/outbox", body("outbox"), outbox(ctx));

  // Counts rejections of these routes, then leaves the answer to the app's problem+json mapper.
  const countRejection: ErrorRequestHandler = (error, _req, res, next) => {
    const route = res.locals.ingestRoute as IngestRoute | undefined;
    if (route) ctx.outcomes.rejected(route, reasonOf(error));
    next(error);
  };
  router.use(countRejection);
  return router;
}

import { type ErrorRequestHandler, type RequestHandler, Router } from "express";
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
  const body = activityBody(ctx.settings.bodyLimitBytes);
  const label =
    (route: IngestRoute): RequestHandler =>
    (_req, res, next) => {
      res.locals.ingestRoute = route;
      next();
    };

  router.post("/users/:username/inbox", label("userInbox"), ...body, userInbox(ctx));
  router.post("/channels/:channelId/inbox", label("channelInbox"), ...body, channelInbox(ctx));
  router.post("/inbox", label("sharedInbox"), ...body, sharedInbox(ctx));
  router.post("/users/:username/outbox", label("outbox"), ...body, outbox(ctx));

  // Counts rejections of these routes, then leaves the answer to the app's problem+json mapper.
  const countRejection: ErrorRequestHandler = (error, _req, res, next) => {
    const route = res.locals.ingestRoute as IngestRoute | undefined;
    if (route) ctx.outcomes.rejected(route, reasonOf(error));
    next(error);
  };
  router.use(countRejection);
  return router;
}

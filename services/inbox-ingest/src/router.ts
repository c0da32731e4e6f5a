import { claimedKeyOrigin } from "@mimi/http-signatures";
import {
  clientAddress,
  createMemoryRateLimiters,
  type RateLimiter,
  type RateLimiterBackend,
  rateLimit,
  rateLimitAccepted,
} from "@mimi/rate-limits";
import type { ErrorRequestHandler, Request, RequestHandler } from "express";
import { Router } from "express";
import type { InboxRateLimitSettings } from "./config.js";
import type { InboxIngestContext } from "./context.js";
import type { IngestRoute } from "./ingest/outcomes.js";
import { activityBody } from "./ingest/read-activity.js";
import { reasonOf } from "./ingest/rejections.js";
import { channelInbox } from "./routes/channel-inbox.js";
import { outbox } from "./routes/outbox.js";
import { sharedInbox } from "./routes/shared-inbox.js";
import { userInbox } from "./routes/user-inbox.js";

export interface InboxIngestRouterOptions {
  /** Where the limits count (default: this process's memory). */
  rateLimiters?: RateLimiterBackend;
  /** The limits (default: the service's settings). */
  rateLimits?: InboxRateLimitSettings;
}

/** Every inbox of the provider and every client outbox. */
export function inboxIngestRouter(ctx: InboxIngestContext, options: InboxIngestRouterOptions = {}): Router {
  const router = Router();
  const body = (route: IngestRoute) => activityBody(route, ctx.settings.bodyLimitBytes);
  const rules = options.rateLimits ?? ctx.settings;
  const limiters = options.rateLimiters ?? createMemoryRateLimiters();
  const inboxLimit = limitInbox(
    limiters.limiter("inbox-address", rules.inboxPerAddress),
    limiters.limiter("inbox-origin", rules.inboxPerOrigin),
  );
  const outboxLimit = limitAccepted(limiters.limiter("outbox-user", rules.outboxPerUser), (req) =>
    String(req.params.username),
  );

  router.post("/users/:username/inbox", inboxLimit, body("userInbox"), userInbox(ctx));
  router.post("/channels/:channelId/inbox", inboxLimit, body("channelInbox"), channelInbox(ctx));
  router.post("/inbox", inboxLimit, body("sharedInbox"), sharedInbox(ctx));
  router.post("/users/:username/outbox", outboxLimit, body("outbox"), outbox(ctx));

  // Counts rejections of these routes, then leaves the answer to the app's problem+json mapper.
  const countRejection: ErrorRequestHandler = (error, _req, res, next) => {
    const route = res.locals.ingestRoute as IngestRoute | undefined;
    if (route) ctx.outcomes.rejected(route, reasonOf(error));
    next(error);
  };
  router.use(countRejection);
  return router;
}

/**
 * Before an inbox POST's body is read: one point of its client address, and a check that the origin
 * its signature names still has points. The origin is spent only once the request was accepted (a
 * verified signature), so forged requests naming another server's key never spend its window.
 */
function limitInbox(perAddress: RateLimiter, perOrigin: RateLimiter): RequestHandler[] {
  return [
    rateLimit(perAddress, clientAddress, "too many inbox requests from this address"),
    limitAccepted(perOrigin, (req) => claimedKeyOrigin(req.headers)),
  ];
}

/** Refuses (429) a request whose key has spent its window; only requests answered 202 spend. */
function limitAccepted(limiter: RateLimiter, keyOf: (req: Request) => string | undefined): RequestHandler {
  return rateLimitAccepted(limiter, keyOf, { acceptedStatus: 202, detail: "too many requests; retry later" });
}

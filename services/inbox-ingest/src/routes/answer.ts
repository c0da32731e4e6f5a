import { sendProblem } from "@mimi/service-kit";
import type { RequestHandler, Response } from "express";
import type { InboxIngestContext } from "../context.js";
import type { IngestRoute } from "../ingest/outcomes.js";
import type { IngestOutcome, IngestRequest, LogNote } from "../ingest/pipeline.js";
import { publicationLogFields } from "../ingest/publications.js";
import { capturedBody } from "../ingest/read-activity.js";

/**
 * An inbox or outbox handler: runs `pipeline` on the request and answers its outcome. Anything the
 * pipeline throws (a database that went away) is left to the router and the app's problem mapper.
 */
export function ingestHandler(
  ctx: Pick<InboxIngestContext, "outcomes" | "logger">,
  route: IngestRoute,
  pipeline: (request: IngestRequest) => Promise<IngestOutcome>,
): RequestHandler {
  return async (req, res) => {
    const params: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.params)) params[name] = String(value);
    const outcome = await pipeline({
      method: req.method,
      path: req.originalUrl,
      headers: req.headers,
      params,
      body: capturedBody(req),
    });
    answer(ctx, route, outcome, res, req.originalUrl);
  };
}

/**
 * The one place an outcome becomes HTTP, a count and a log line: accepted, duplicate and dropped are
 * 202 with an empty body; refused is its problem+json (status, `reason`, headers such as
 * `Retry-After`). `mimi_inbox_ingest_requests_total` counts each by route, outcome and reason.
 */
export function answer(
  ctx: Pick<InboxIngestContext, "outcomes" | "logger">,
  route: IngestRoute,
  outcome: IngestOutcome,
  res: Response,
  instance: string,
): void {
  const { logger, outcomes } = ctx;
  switch (outcome.kind) {
    case "accepted": {
      outcomes.accepted(route);
      // Debug, not info: one line per accepted delivery is the hot path's cost; the counter counts them.
      if (logger.isLevelEnabled("debug")) {
        const { publication } = outcome;
        logger.debug(
          {
            route,
            ...publicationLogFields(publication),
            topic: publication.topic,
            items: publication.messages.length,
          },
          "activity accepted",
        );
      }
      res.status(202).end();
      return;
    }
    case "duplicate":
      outcomes.duplicate(route);
      if (logger.isLevelEnabled("debug")) {
        logger.debug({ route, ...publicationLogFields(outcome.publication) }, "redelivered activity ignored");
      }
      res.status(202).end();
      return;
    case "dropped":
      outcomes.dropped(route, outcome.reason);
      write(ctx, route, outcome.note);
      res.status(202).end();
      return;
    case "refused":
      outcomes.rejected(route, outcome.reason);
      if (outcome.note) write(ctx, route, outcome.note);
      sendProblem(res, outcome.problem, instance);
      return;
  }
}

function write(ctx: Pick<InboxIngestContext, "logger">, route: IngestRoute, note: LogNote): void {
  ctx.logger[note.level]({ route, ...note.fields }, note.message);
}

import type { IncomingHttpHeaders } from "node:http";
import type { BusMessage } from "@mimi/bus";
import type { Response } from "express";
import type { InboxIngestContext } from "../context.js";
import type { IngestRoute } from "./outcomes.js";
import { rejection } from "./rejections.js";
import type { DeliveryKey } from "./seen-activities.js";

/**
 * The last steps of every route: remember the delivery key, publish, answer 202. A redelivery is
 * answered 202 without publishing. When publishing fails the key is forgotten again and the sender
 * gets a 503, so its retry is not mistaken for a duplicate of something that was never published.
 */
export async function publishOnce(
  ctx: InboxIngestContext,
  res: Response,
  delivery: { route: IngestRoute; key: DeliveryKey; type: string; topic: string; messages: BusMessage[] },
): Promise<void> {
  const { route, key } = delivery;
  if (!(await ctx.seen.remember(key))) {
    ctx.outcomes.duplicate(route);
    if (ctx.logger.isLevelEnabled("debug"))
      ctx.logger.debug(logFieldsOf(delivery), "redelivered activity ignored");
    res.status(202).end();
    return;
  }
  try {
    await ctx.bus.publish(delivery.topic, delivery.messages);
  } catch (error) {
    await ctx.seen.forget(key);
    ctx.logger.error({ ...logFieldsOf(delivery), err: error }, "publishing an accepted activity failed");
    throw rejection(503, "busUnavailable", "the activity could not be queued; retry later", {
      headers: { "retry-after": "30" },
    });
  }
  ctx.outcomes.accepted(route);
  // Debug, not info: one line per accepted delivery is the hot path's cost; the counter above counts them.
  if (ctx.logger.isLevelEnabled("debug")) {
    ctx.logger.debug(
      { ...logFieldsOf(delivery), topic: delivery.topic, items: delivery.messages.length },
      "activity accepted",
    );
  }
  res.status(202).end();
}

/** What the log lines name; built only when a line is written, since this runs for every delivery. */
function logFieldsOf(delivery: { route: IngestRoute; key: DeliveryKey; type: string }) {
  const { key } = delivery;
  return {
    route: delivery.route,
    activityId: key.activityId,
    type: delivery.type,
    target: key.target,
    sender: key.sender,
  };
}

/** Publisher headers carried from the request (trace context). */
export function traceHeaders(headers: IncomingHttpHeaders): Record<string, string> | undefined {
  const traceparent = headers.traceparent;
  return typeof traceparent === "string" ? { traceparent } : undefined;
}

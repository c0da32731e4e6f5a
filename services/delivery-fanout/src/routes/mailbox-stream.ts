import { principalOf, requireSelf } from "@mimi/auth";
import type { Request, RequestHandler, Response } from "express";
import type { DeliveryFanoutContext } from "../context.js";
import { parseCursor } from "./paging.js";
import { SseWriter } from "./sse-writer.js";

/**
 * `GET /api/v1/mailbox/stream` (the token's user) and `GET /users/:username/inbox/stream` (owner
 * only): Server-Sent Events. Replays every row after `Last-Event-ID` (or `?after=`), then sends new
 * rows as they are written; each event's `id:` is the row's cursor, so a reconnecting client resumes
 * exactly where it stopped. A comment line every `MIMI_MAILBOX_HEARTBEAT_MS` lets clients (and
 * proxies) tell a live stream from a dead one. Rows are read a page at a time and the next page only
 * once the client took the last one (the socket drained), so a slow reader costs one page of memory.
 * When the mailbox cannot be read the response ends; the client reconnects where it stopped.
 */
export function ownMailboxStream(ctx: DeliveryFanoutContext): RequestHandler {
  return async (req, res) => {
    await stream(ctx, principalOf(res).username, req, res);
  };
}

export function userInboxStream(ctx: DeliveryFanoutContext): RequestHandler {
  return async (req, res) => {
    const { username } = requireSelf(res, String(req.params.username));
    await stream(ctx, username, req, res);
  };
}

async function stream(
  ctx: DeliveryFanoutContext,
  username: string,
  req: Request,
  res: Response,
): Promise<void> {
  const lastEventId = req.headers["last-event-id"];
  let sentCursor =
    typeof lastEventId === "string" && lastEventId !== ""
      ? parseCursor(lastEventId, "Last-Event-ID")
      : parseCursor(req.query.after, "after");
  const batchSize = ctx.settings.mailbox.maxPageSize;

  res.status(200);
  res.setHeader("content-type", "text/event-stream; charset=utf-8");
  res.setHeader("cache-control", "no-store");
  res.setHeader("connection", "keep-alive");
  // Tells nginx-style proxies not to buffer the stream.
  res.setHeader("x-accel-buffering", "no");
  res.flushHeaders();
  const writer = new SseWriter(res);

  let closed = false;
  let pumping = false;
  let pumpAgain = false;

  /** Sends every row after `sentCursor`; a wake-up while sending runs one more round afterwards. */
  const pump = async (): Promise<void> => {
    if (closed) return;
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = true;
    try {
      do {
        pumpAgain = false;
        let page = await ctx.mailbox.page(username, sentCursor, batchSize);
        while (!closed && page.length > 0) {
          for (const item of page) {
            const sent = await writer.event({
              id: String(item.cursor),
              event: "activity",
              data: JSON.stringify(item),
            });
            if (!sent) return;
            sentCursor = item.cursor;
          }
          page = page.length === batchSize ? await ctx.mailbox.page(username, sentCursor, batchSize) : [];
        }
      } while (pumpAgain && !closed);
    } catch (error) {
      ctx.logger.warn({ err: error, username }, "mailbox stream read failed; closing the stream");
      cleanup();
      writer.end();
    } finally {
      pumping = false;
    }
  };

  const unsubscribe = ctx.notifier.subscribe(username, (cursor) => {
    if (cursor > sentCursor) void pump();
  });
  const heartbeat = setInterval(() => writer.comment("keep-alive"), ctx.settings.mailbox.heartbeatMs);
  const safetyPoll = setInterval(() => void pump(), ctx.settings.mailbox.safetyPollMs);

  function cleanup(): void {
    if (closed) return;
    closed = true;
    unsubscribe();
    clearInterval(heartbeat);
    clearInterval(safetyPoll);
  }
  req.on("close", cleanup);
  res.on("close", cleanup);
  // Subscribed before the replay, so a row written during the replay is not missed.
  if (await writer.write("retry: 3000\n\n")) await pump();
}

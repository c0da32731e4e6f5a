import { principalOf, requireSelf } from "@mimi/auth";
import { ProblemError } from "@mimi/service-kit";
import type { Request, RequestHandler, Response } from "express";
import type { DeliveryFanoutContext } from "../context.js";
import { parseCursor } from "./paging.js";
import { SseWriter, type StreamCloseReason } from "./sse-writer.js";
import { type OpenStream, streamRegistryOf } from "./stream-registry.js";

/** What a client refused for holding too many streams is told to wait before trying again. */
const STREAM_RETRY_AFTER_SECONDS = 30;

/**
 * `GET /api/v1/mailbox/stream` (the token's user) and `GET /users/:username/inbox/stream` (owner
 * only): Server-Sent Events. Replays every row after `Last-Event-ID` (or `?after=`), then sends new
 * rows as they are written; each event's `id:` is the row's cursor, so a reconnecting client resumes
 * exactly where it stopped. A comment line every `MIMI_MAILBOX_HEARTBEAT_MS` lets clients (and
 * proxies) tell a live stream from a dead one. Rows are read a page at a time and the next page only
 * once the client took the last one (the socket drained); a batch is bounded by rows and bytes and
 * events are written in chunks, so a slow reader costs one batch plus the socket's buffer.
 * The server ends a stream with a last `event: closed` (`data: {"reason": ...}`) when its client took
 * nothing for the stall timeout (`behind`), when it sent no activity for the idle timeout (`idle`), or
 * when the mailbox cannot be read (`unavailable`); the client reconnects where it stopped. A user holds
 * at most `MIMI_MAILBOX_STREAMS_PER_USER` streams per process: one more gets 429 `tooManyStreams`.
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
  const limits = ctx.settings.streams;
  const batchSize = ctx.settings.mailbox.maxPageSize;
  const registry = streamRegistryOf(ctx, limits.maxPerUser);
  const writer = new SseWriter(res, {
    chunkBytes: limits.chunkBytes,
    stallTimeoutMs: limits.stallTimeoutMs,
  });
  const open: OpenStream = { username, bufferedBytes: () => writer.bufferedBytes };
  if (!registry.tryOpen(open)) {
    throw new ProblemError(
      429,
      "Too Many Requests",
      `${username} already has ${limits.maxPerUser} mailbox streams open`,
      { reason: "tooManyStreams" },
      { "retry-after": String(STREAM_RETRY_AFTER_SECONDS) },
    );
  }

  res.status(200);
  res.setHeader("content-type", "text/event-stream; charset=utf-8");
  res.setHeader("cache-control", "no-store");
  res.setHeader("connection", "keep-alive");
  // Tells nginx-style proxies not to buffer the stream.
  res.setHeader("x-accel-buffering", "no");
  res.flushHeaders();

  let closed = false;
  let pumping = false;
  let pumpAgain = false;

  /** Ends the stream with a last event saying why; the client reconnects with `Last-Event-ID`. */
  const closeWith = (reason: StreamCloseReason, log: Record<string, unknown> = {}) => {
    if (closed) return;
    ctx.logger.info({ username, reason, ...log }, "mailbox stream closed by the server");
    cleanup();
    writer.close(reason);
  };

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
        let page = await readBatch();
        while (!closed && page.length > 0) {
          for (const item of page) {
            const sent = await writer.event({
              id: String(item.cursor),
              event: "activity",
              data: JSON.stringify(item),
            });
            if (!sent) {
              if (writer.stalled) closeWith("behind", { bufferedBytes: writer.bufferedBytes });
              return;
            }
            sentCursor = item.cursor;
            idle.refresh();
          }
          page = await readBatch();
        }
      } while (pumpAgain && !closed);
    } catch (error) {
      ctx.logger.warn({ err: error, username }, "mailbox stream read failed; closing the stream");
      closeWith("unavailable");
    } finally {
      pumping = false;
    }
  };
  // A batch is bounded by rows and by bytes, so a mailbox of large items is not read into memory at once.
  const readBatch = () => ctx.mailbox.page(username, sentCursor, batchSize, limits.batchBytes);

  const unsubscribe = ctx.notifier.subscribe(username, (cursor) => {
    if (cursor > sentCursor) void pump();
  });
  const heartbeat = setInterval(() => writer.comment("keep-alive"), ctx.settings.mailbox.heartbeatMs);
  const safetyPoll = setInterval(() => void pump(), ctx.settings.mailbox.safetyPollMs);
  const idle = setTimeout(() => closeWith("idle"), limits.idleTimeoutMs);

  function cleanup(): void {
    if (closed) return;
    closed = true;
    registry.release(open);
    unsubscribe();
    clearInterval(heartbeat);
    clearInterval(safetyPoll);
    clearTimeout(idle);
  }
  req.on("close", cleanup);
  res.on("close", cleanup);
  // Subscribed before the replay, so a row written during the replay is not missed.
  if (await writer.write("retry: 3000\n\n")) await pump();
  else if (writer.stalled) closeWith("behind");
}

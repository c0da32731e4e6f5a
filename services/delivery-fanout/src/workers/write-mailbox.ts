import { type HandlerOutcome, pendingOutcome, type RecordHandler } from "@mimi/bus";
import { coalesce } from "@mimi/service-kit";
import { userInboxTopic } from "@mimi/topics";
import type { NewMailboxItem } from "../adapters/mailbox.js";
import type { DeliveryFanoutContext } from "../context.js";

/** Rows of one mailbox statement at most. */
const MAX_ROWS_PER_APPEND = 200;

/**
 * `user.inbox` -> one mailbox row per local user and activity (a duplicate is a no-op), then a
 * notification that wakes the user's live streams. A lost notification only delays a stream until
 * its safety poll, so a failing notifier does not fail the write.
 *
 * Rows are appended in record order by one statement at a time: records that arrive while a
 * statement runs go into the next one together, and the handler answers `pending` until its row is
 * in. So a user's cursors follow the partition's order, and a burst costs a few statements instead of
 * one round trip per record.
 */
export function writeMailboxHandler(ctx: DeliveryFanoutContext): RecordHandler {
  const append = coalesce<NewMailboxItem, number | undefined>((items) => ctx.mailbox.appendMany(items), {
    maxBatch: MAX_ROWS_PER_APPEND,
    concurrentBatches: 1,
  });
  return async (record) => {
    const parsed = userInboxTopic.parse(record);
    if (!parsed.ok) return { kind: "dlq", reason: parsed.reason };
    const item = parsed.value;
    const receivedAtMs = Date.parse(item.receivedAt);
    const appended = append({
      username: item.username,
      activityId: item.activityId,
      activity: item.activity,
      deliveredBy: item.deliveredBy,
      receivedAt: new Date(Number.isNaN(receivedAtMs) ? ctx.now() : receivedAtMs),
    });
    return pendingOutcome(
      appended.then(async (cursor): Promise<HandlerOutcome> => {
        if (cursor === undefined) {
          return { kind: "drop", reason: `duplicate ${item.activityId} for ${item.username}` };
        }
        try {
          await ctx.notifier.notify(item.username, cursor);
        } catch (error) {
          ctx.logger.warn(
            { err: error, username: item.username },
            "mailbox notification failed; streams will catch up by polling",
          );
        }
        return { kind: "ok" };
      }),
    );
  };
}

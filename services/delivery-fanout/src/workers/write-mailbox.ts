import { type HandlerOutcome, pendingOutcome, type RecordHandler } from "@mimi/bus";
import { coalesce } from "@mimi/service-kit";
import { userInboxTopic } from "@mimi/topics";
import type { NewMailboxItem } from "../adapters/mailbox.js";
import type { DeliveryFanoutContext } from "../context.js";
import { admitToMailboxes } from "../domain/mailbox-quota.js";

type AppendResult =
  | { kind: "stored"; cursor: number }
  | { kind: "duplicate" }
  | { kind: "refused"; reason: string };

/** Rows of one mailbox statement at most. */
const MAX_ROWS_PER_APPEND = 200;

/**
 * `user.inbox` -> one mailbox row per local user and activity (a duplicate is a no-op; an item that
 * would take its user past `MIMI_MAILBOX_MAX_ITEMS` or `MIMI_MAILBOX_MAX_BYTES` is refused, logged and
 * marked on the user so inbox-ingest refuses further deliveries to the sender), then a notification
 * that wakes the user's live streams. A lost notification only delays a stream until
 * its safety poll, so a failing notifier does not fail the write.
 *
 * Rows are appended in record order by one statement at a time: records that arrive while a
 * statement runs go into the next one together, and the handler answers `pending` until its row is
 * in. So a user's cursors follow the partition's order, and a burst costs a few statements instead of
 * one round trip per record. Each statement is followed by one notification per user, with the user's
 * newest cursor (a stream reads everything after the cursor it has, so the last one is enough).
 */
export function writeMailboxHandler(ctx: DeliveryFanoutContext): RecordHandler {
  const append = coalesce<NewMailboxItem, AppendResult>(
    async (items) => {
      // Items and bytes are checked against the usage stored before this statement: one statement
      // runs at a time and a user's records come in one partition, so nothing else adds to it meanwhile.
      const usage = await ctx.mailbox.usage(items.map((item) => item.username));
      const verdicts = admitToMailboxes(
        items.map((item) => ({
          username: item.username,
          bytes: Buffer.byteLength(JSON.stringify(item.activity)),
        })),
        usage,
        ctx.settings.mailboxQuota,
      );
      const admitted = items.filter((_, index) => verdicts[index]?.admitted);
      const cursors = await ctx.mailbox.appendMany(admitted);
      const refusedUsers = items
        .filter((_, index) => !verdicts[index]?.admitted)
        .map((item) => item.username);
      if (refusedUsers.length > 0) await ctx.mailbox.markRefused(refusedUsers, new Date(ctx.now()));
      // Not awaited: the next statement need not wait for the notifications.
      void notifyNewest(ctx, admitted, cursors);
      let next = 0;
      return verdicts.map((verdict): AppendResult => {
        if (!verdict.admitted) return { kind: "refused", reason: verdict.reason };
        const cursor = cursors[next++];
        return cursor === undefined ? { kind: "duplicate" } : { kind: "stored", cursor };
      });
    },
    { maxBatch: MAX_ROWS_PER_APPEND, concurrentBatches: 1 },
  );
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
      appended.then((result): HandlerOutcome => {
        if (result.kind === "stored") return { kind: "ok" };
        if (result.kind === "duplicate")
          return { kind: "drop", reason: `duplicate ${item.activityId} for ${item.username}` };
        ctx.logger.warn(
          { username: item.username, activityId: item.activityId, reason: result.reason },
          "mailbox item refused: the mailbox is full",
        );
        return { kind: "drop", reason: `${result.reason} (${item.username}, ${item.activityId})` };
      }),
    );
  };
}

async function notifyNewest(
  ctx: DeliveryFanoutContext,
  items: readonly NewMailboxItem[],
  cursors: readonly (number | undefined)[],
): Promise<void> {
  const newest = new Map<string, number>();
  items.forEach((item, index) => {
    const cursor = cursors[index];
    if (cursor !== undefined) newest.set(item.username, Math.max(cursor, newest.get(item.username) ?? 0));
  });
  await Promise.all(
    [...newest].map(async ([username, cursor]) => {
      try {
        await ctx.notifier.notify(username, cursor);
      } catch (error) {
        ctx.logger.warn(
          { err: error, username },
          "mailbox notification failed; streams will catch up by polling",
        );
      }
    }),
  );
}

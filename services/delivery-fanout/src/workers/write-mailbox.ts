import type { RecordHandler } from "@mimi/bus";
import { userInboxTopic } from "@mimi/topics";
import type { DeliveryFanoutContext } from "../context.js";

/**
 * `user.inbox` -> one mailbox row per local user and activity (a duplicate is a no-op), then a
 * notification that wakes the user's live streams. A lost notification only delays a stream until
 * its safety poll, so a failing notifier does not fail the write.
 */
export function writeMailboxHandler(ctx: DeliveryFanoutContext): RecordHandler {
  return async (record) => {
    const parsed = userInboxTopic.parse(record);
    if (!parsed.ok) return { kind: "dlq", reason: parsed.reason };
    const item = parsed.value;
    const receivedAtMs = Date.parse(item.receivedAt);
    const cursor = await ctx.mailbox.append({
      username: item.username,
      activityId: item.activityId,
      activity: item.activity,
      deliveredBy: item.deliveredBy,
      receivedAt: new Date(Number.isNaN(receivedAtMs) ? ctx.now() : receivedAtMs),
    });
    if (cursor === undefined)
      return { kind: "drop", reason: `duplicate ${item.activityId} for ${item.username}` };
    try {
      await ctx.notifier.notify(item.username, cursor);
    } catch (error) {
      ctx.logger.warn(
        { err: error, username: item.username },
        "mailbox notification failed; streams will catch up by polling",
      );
    }
    return { kind: "ok" };
  };
}

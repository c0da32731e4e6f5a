import type { Subscription } from "@mimi/bus";
import { channelInboxTopic } from "@mimi/topics";
import type { ChannelSequencerContext } from "./context.js";
import { handleChannelInboxItem } from "./sequencer/process.js";

/** The consumer group of the sequencer on `channel.inbox` (partitions keyed by channel: one writer per channel). */
export const CHANNEL_SEQUENCER_GROUP = "channel-sequencer";

/** Subscribes to `channel.inbox`; a payload that does not parse goes to the dead topic. */
export async function startChannelSequencerWorkers(
  ctx: ChannelSequencerContext,
): Promise<{ stop(): Promise<void> }> {
  const subscription: Subscription = await ctx.bus.subscribe({
    groupId: CHANNEL_SEQUENCER_GROUP,
    topics: [channelInboxTopic.name],
    handle: async (record) => {
      const item = channelInboxTopic.parse(record);
      if (!item.ok) {
        ctx.logger.warn(
          { partition: record.partition, offset: record.offset, reason: item.reason },
          "unreadable channel.inbox record",
        );
        return { kind: "dlq", reason: item.reason };
      }
      return handleChannelInboxItem(ctx, item.value, record.headers);
    },
  });
  return { stop: () => subscription.stop() };
}

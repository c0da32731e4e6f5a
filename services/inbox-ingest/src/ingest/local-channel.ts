import type { InboxIngestContext } from "../context.js";
import { proceed, refuse, type StepResult } from "./pipeline.js";

/** Longer ids are no channel of this provider's: answered without asking. */
const MAX_CHANNEL_ID_LENGTH = 200;

/**
 * Whether this provider hosts the channel (the channel sequencer's read model): refused with
 * `reason` (404) when not, and with a retryable status when it cannot be asked.
 */
export async function requireLocalChannel(
  ctx: Pick<InboxIngestContext, "ports">,
  channelId: string,
  reason: "unknownInbox" | "unknownChannel",
): Promise<StepResult<void>> {
  let exists: boolean;
  try {
    exists = channelId.length <= MAX_CHANNEL_ID_LENGTH && (await ctx.ports.channelExists(channelId));
  } catch (error) {
    return refuse("channelLookupFailed", "could not check the channel; retry later", {
      note: { level: "warn", message: "channel lookup failed", fields: { err: error, channelId } },
    });
  }
  return exists ? proceed(undefined) : refuse(reason, `no channel ${channelId} on this provider`);
}

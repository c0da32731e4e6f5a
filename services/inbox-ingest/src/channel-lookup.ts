import { ACTIVITY_JSON } from "@mimi/activitypub";

export interface ChannelLookupOptions {
  timeoutMs?: number;
  /**
   * How long a channel found to exist is remembered (default 30 s). Only positive answers are kept: a
   * channel created a moment ago is asked for again until it exists, and one removed meanwhile is still
   * refused by the sequencer, which drops activities for channels it does not hold.
   */
  rememberExistingMs?: number;
  now?: () => number;
}

/**
 * `channelExists` for the split deployment: asks the channel sequencer, which serves the channel
 * actor documents, over the cluster-internal network (so not through the public-address guard).
 * 200 means the channel exists, 404/410 that it does not; anything else is an error, which the
 * inbox answers with a 503 so the sender retries. Every message of a channel passes here, so
 * existing channels are remembered for a while instead of costing one request per message.
 */
export function channelExistsViaSequencer(
  sequencerBaseUrl: string,
  options: ChannelLookupOptions = {},
): (channelId: string) => Promise<boolean> {
  const base = sequencerBaseUrl.replace(/\/+$/, "");
  const rememberMs = options.rememberExistingMs ?? 30_000;
  const now = options.now ?? Date.now;
  const existingUntil = new Map<string, number>();
  const maxRemembered = 10_000;
  return async (channelId) => {
    const until = existingUntil.get(channelId);
    if (until !== undefined && until > now()) return true;
    const response = await fetch(`${base}/channels/${encodeURIComponent(channelId)}`, {
      headers: { accept: ACTIVITY_JSON },
      signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
    });
    await response.body?.cancel();
    if (response.status === 200) {
      existingUntil.delete(channelId);
      // Insertion order is expiry order (one fixed lifetime): the oldest entry goes first.
      if (existingUntil.size >= maxRemembered) {
        const oldest = existingUntil.keys().next();
        if (!oldest.done) existingUntil.delete(oldest.value);
      }
      if (rememberMs > 0) existingUntil.set(channelId, now() + rememberMs);
      return true;
    }
    if (response.status === 404 || response.status === 410) {
      existingUntil.delete(channelId);
      return false;
    }
    throw new Error(`channel sequencer answered ${response.status} for channel ${channelId}`);
  };
}

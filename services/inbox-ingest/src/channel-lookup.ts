import { ACTIVITY_JSON } from "@mimi/activitypub";

/**
 * `channelExists` for the split deployment: asks the channel sequencer, which serves the channel
 * actor documents, over the cluster-internal network (so not through the public-address guard).
 * 200 means the channel exists, 404/410 that it does not; anything else is an error, which the
 * inbox answers with a 503 so the sender retries.
 */
export function channelExistsViaSequencer(
  sequencerBaseUrl: string,
  options: { timeoutMs?: number } = {},
): (channelId: string) => Promise<boolean> {
  const base = sequencerBaseUrl.replace(/\/+$/, "");
  return async (channelId) => {
    const response = await fetch(`${base}/channels/${encodeURIComponent(channelId)}`, {
      headers: { accept: ACTIVITY_JSON },
      signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
    });
    await response.body?.cancel();
    if (response.status === 200) return true;
    if (response.status === 404 || response.status === 410) return false;
    throw new Error(`channel sequencer answered ${response.status} for channel ${channelId}`);
  };
}

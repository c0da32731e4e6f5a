/**
 * What one member may send through a channel: a message's size, and a rate per member (a token
 * bucket: `burst` messages at once, refilled at `perMinute`). Pure: the caller keeps the buckets.
 */
export interface MessageLimits {
  /** Largest PrivateMessage (its MLS bytes) the channel forwards. */
  readonly maxMessageBytes: number;
  /** Messages one member may send in a burst. */
  readonly burst: number;
  /** Messages per minute one member may send, sustained. */
  readonly perMinute: number;
}

export interface TokenBucket {
  /** Messages that may be sent now (fractional while refilling). */
  readonly tokens: number;
  readonly atMs: number;
}

export type RateVerdict =
  | { readonly ok: true; readonly bucket: TokenBucket }
  | { readonly ok: false; readonly bucket: TokenBucket; readonly retryAfterMs: number };

/** The bucket refilled up to `nowMs` (a missing bucket is full). */
export function refilled(bucket: TokenBucket | undefined, nowMs: number, limits: MessageLimits): TokenBucket {
  if (bucket === undefined) return { tokens: limits.burst, atMs: nowMs };
  const elapsed = Math.max(0, nowMs - bucket.atMs);
  return {
    tokens: Math.min(limits.burst, bucket.tokens + (elapsed * limits.perMinute) / 60_000),
    atMs: nowMs,
  };
}

/** Takes one message from the member's bucket, or says how long until one is available. */
export function takeMessage(
  bucket: TokenBucket | undefined,
  nowMs: number,
  limits: MessageLimits,
): RateVerdict {
  const current = refilled(bucket, nowMs, limits);
  if (current.tokens >= 1) return { ok: true, bucket: { tokens: current.tokens - 1, atMs: nowMs } };
  const retryAfterMs = Math.ceil(((1 - current.tokens) * 60_000) / limits.perMinute);
  return { ok: false, bucket: current, retryAfterMs };
}

/** The Reject summary of a message over the size limit, or undefined when it fits. */
export function messageSizeRefusal(bytes: number, limits: MessageLimits): string | undefined {
  return bytes > limits.maxMessageBytes
    ? `the message is ${bytes} bytes, larger than the channel accepts (${limits.maxMessageBytes})`
    : undefined;
}

/** The Reject summary of a message over the member's rate. */
export function messageRateRefusal(member: string, retryAfterMs: number, limits: MessageLimits): string {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return `${member} sends messages faster than the channel accepts (${limits.perMinute} per minute, ${limits.burst} at once); send again in ${seconds} s`;
}

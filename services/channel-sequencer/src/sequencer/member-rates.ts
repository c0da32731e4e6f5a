import type { ChannelSequencerContext } from "../context.js";
import { type MessageLimits, refilled, type TokenBucket, takeMessage } from "../domain/message-limits.js";

/** Buckets kept at most; past it the least recently used go (a forgotten member starts full again). */
const MAX_BUCKETS = 100_000;

/**
 * The message-rate buckets of the channels this process sequences, one per (channel, member). A
 * channel's items are handled by one consumer at a time (its partition), so in-process state is
 * exact for it; a restart or a partition moving to another replica starts the buckets full.
 */
export class MemberRates {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly limits: MessageLimits) {}

  /** Takes one message for `member` in `channelId`; how long to wait when none is left. */
  take(channelId: string, member: string, nowMs: number): { ok: true } | { ok: false; retryAfterMs: number } {
    const key = `${channelId} ${member}`;
    const verdict = takeMessage(this.buckets.get(key), nowMs, this.limits);
    // Re-inserted, so the map's order is least recently used first.
    this.buckets.delete(key);
    this.buckets.set(key, verdict.bucket);
    if (this.buckets.size > MAX_BUCKETS) this.evict(nowMs);
    return verdict.ok ? { ok: true } : { ok: false, retryAfterMs: verdict.retryAfterMs };
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Drops buckets that refilled (they say nothing a missing one would not), then the oldest. */
  private evict(nowMs: number): void {
    for (const [key, bucket] of this.buckets) {
      if (refilled(bucket, nowMs, this.limits).tokens >= this.limits.burst) this.buckets.delete(key);
    }
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= MAX_BUCKETS) break;
      this.buckets.delete(key);
    }
  }
}

const rates = new WeakMap<ChannelSequencerContext, MemberRates>();

/** The message limits the settings give. */
export function messageLimitsOf(settings: ChannelSequencerContext["settings"]): MessageLimits {
  return {
    maxMessageBytes: settings.maxMessageBytes,
    burst: settings.messageBurst,
    perMinute: settings.messagesPerMinute,
  };
}

/** The one set of buckets of a sequencer context. */
export function memberRatesOf(ctx: ChannelSequencerContext): MemberRates {
  let found = rates.get(ctx);
  if (found === undefined) {
    found = new MemberRates(messageLimitsOf(ctx.settings));
    rates.set(ctx, found);
  }
  return found;
}

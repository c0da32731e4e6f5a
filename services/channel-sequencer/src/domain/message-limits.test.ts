import { describe, expect, it } from "vitest";
import { messageRateRefusal, messageSizeRefusal, type TokenBucket, takeMessage } from "./message-limits.js";

const limits = { maxMessageBytes: 1_000, burst: 3, perMinute: 60 };

describe("message limits", () => {
  it("lets a burst through, then one message per refill interval", () => {
    let bucket: TokenBucket | undefined;
    const taken: boolean[] = [];
    for (let index = 0; index < 5; index++) {
      const verdict = takeMessage(bucket, 0, limits);
      bucket = verdict.bucket;
      taken.push(verdict.ok);
    }
    expect(taken).toEqual([true, true, true, false, false]);
    const refused = takeMessage(bucket, 0, limits);
    expect(refused).toMatchObject({ ok: false, retryAfterMs: 1_000 });
    expect(takeMessage(bucket, 999, limits).ok).toBe(false);
    const later = takeMessage(bucket, 1_000, limits);
    expect(later.ok).toBe(true);
    expect(takeMessage(later.bucket, 1_000, limits).ok).toBe(false);
  });

  it("refills up to the burst, no further", () => {
    const empty = { tokens: 0, atMs: 0 };
    let bucket: TokenBucket = takeMessage(empty, 3_600_000, limits).bucket;
    expect(bucket.tokens).toBe(2);
    bucket = takeMessage(bucket, 3_600_000, limits).bucket;
    bucket = takeMessage(bucket, 3_600_000, limits).bucket;
    expect(takeMessage(bucket, 3_600_000, limits).ok).toBe(false);
  });

  it("refuses a message larger than the limit and says so", () => {
    expect(messageSizeRefusal(1_000, limits)).toBeUndefined();
    expect(messageSizeRefusal(1_001, limits)).toBe(
      "the message is 1001 bytes, larger than the channel accepts (1000)",
    );
    expect(messageRateRefusal("https://a.test/users/ann", 1_500, limits)).toBe(
      "https://a.test/users/ann sends messages faster than the channel accepts (60 per minute, 3 at once); send again in 2 s",
    );
  });
});

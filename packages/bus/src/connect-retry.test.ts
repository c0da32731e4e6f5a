import { describe, expect, it } from "vitest";
import { connectRetryDelayMs, connectWithRetry } from "./connect-retry";

/** A clock that only moves when the code under test sleeps. */
function fakeClock() {
  let time = 0;
  const slept: number[] = [];
  return {
    now: () => time,
    sleep: async (ms: number) => {
      slept.push(ms);
      time += ms;
    },
    slept,
  };
}

describe("connectWithRetry", () => {
  it("keeps trying through failures until the brokers answer", async () => {
    const clock = fakeClock();
    let attempts = 0;
    const retries: number[] = [];
    const result = await connectWithRetry(
      async () => {
        attempts++;
        if (attempts < 4) throw new Error("getaddrinfo EAI_AGAIN kafka");
        return "connected";
      },
      { deadlineMs: 60_000 },
      { ...clock, onRetry: ({ attempt }) => retries.push(attempt) },
    );
    expect(result).toBe("connected");
    expect(attempts).toBe(4);
    expect(retries).toEqual([1, 2, 3]);
    expect(clock.slept).toEqual([500, 1_000, 2_000]);
  });

  it("throws the last error once the deadline has passed, never sleeping past it", async () => {
    const clock = fakeClock();
    let attempts = 0;
    await expect(
      connectWithRetry(
        async () => {
          attempts++;
          throw new Error(`attempt ${attempts} timed out`);
        },
        { deadlineMs: 5_000, initialDelayMs: 1_000, maxDelayMs: 10_000 },
        clock,
      ),
    ).rejects.toThrow("attempt 4 timed out");
    // 1 s, 2 s, then the 1 s left until the deadline, then one last attempt at the deadline.
    expect(clock.slept).toEqual([1_000, 2_000, 2_000]);
    expect(clock.now()).toBe(5_000);
    expect(attempts).toBe(4);
  });

  it("does not retry when the deadline is zero", async () => {
    const clock = fakeClock();
    await expect(
      connectWithRetry(
        async () => {
          throw new Error("refused");
        },
        { deadlineMs: 0 },
        clock,
      ),
    ).rejects.toThrow("refused");
    expect(clock.slept).toEqual([]);
  });

  it("doubles the delay up to its ceiling", () => {
    const policy = { deadlineMs: 1, initialDelayMs: 500, maxDelayMs: 3_000 };
    expect([1, 2, 3, 4, 5].map((attempt) => connectRetryDelayMs(policy, attempt))).toEqual([
      500, 1_000, 2_000, 3_000, 3_000,
    ]);
  });
});

import { describe, expect, it } from "vitest";
import {
  DEFAULT_RESTART_POLICY,
  describeExit,
  nextRestartAttempt,
  restartDelayMs,
  restartLine,
} from "../src/supervision.js";

describe("restart backoff", () => {
  it("waits 0.5 s, then twice as long each time, at most 10 s", () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 40].map((attempt) =>
      restartDelayMs(attempt, DEFAULT_RESTART_POLICY),
    );
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000]);
  });

  it("counts attempts up while the process keeps failing", () => {
    expect(nextRestartAttempt(0, 100, DEFAULT_RESTART_POLICY)).toBe(1);
    expect(nextRestartAttempt(1, 100, DEFAULT_RESTART_POLICY)).toBe(2);
    expect(nextRestartAttempt(4, 29_999, DEFAULT_RESTART_POLICY)).toBe(5);
  });

  it("starts again at attempt 1 after the process stayed up long enough", () => {
    expect(nextRestartAttempt(5, 30_000, DEFAULT_RESTART_POLICY)).toBe(1);
    expect(nextRestartAttempt(5, 10_000, { ...DEFAULT_RESTART_POLICY, resetAfterMs: 5_000 })).toBe(1);
  });

  it("names how the process ended and logs provider, service, exit and attempt", () => {
    expect(describeExit(null, "SIGKILL")).toBe("signal SIGKILL");
    expect(describeExit(1, null)).toBe("exit code 1");
    expect(
      restartLine({
        domain: "a.test",
        service: "delivery-fanout",
        replica: 0,
        exit: "signal SIGKILL",
        attempt: 2,
        delayMs: 1_000,
        exitedAt: 0,
      }),
    ).toBe("[split] a.test delivery-fanout-0 exited (signal SIGKILL); restart attempt 2 in 1000 ms");
  });
});

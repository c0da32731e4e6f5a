import { describe, expect, it } from "vitest";
import {
  ConsumerSupervision,
  consumersHealth,
  DEFAULT_RESTART_POLICY,
  restartDelayMs,
  restartPolicyWith,
} from "./consumer-supervision";
import type { ConsumerEvent } from "./types";

describe("restart policy", () => {
  it("doubles the delay per crash in a row, up to the longest delay", () => {
    const policy = restartPolicyWith({ initialDelayMs: 1_000, maxDelayMs: 5_000 });
    expect([1, 2, 3, 4, 5, 60].map((crashes) => restartDelayMs(policy, crashes))).toEqual([
      1_000, 2_000, 4_000, 5_000, 5_000, 5_000,
    ]);
  });

  it("refuses values that make no sense", () => {
    expect(() => restartPolicyWith({ maxRestarts: -1 })).toThrow(/maxRestarts/);
    expect(() => restartPolicyWith({ initialDelayMs: 1.5 })).toThrow(/initialDelayMs/);
    expect(() => restartPolicyWith({ initialDelayMs: 10, maxDelayMs: 5 })).toThrow(/below initialDelayMs/);
    expect(restartPolicyWith()).toEqual(DEFAULT_RESTART_POLICY);
  });
});

describe("ConsumerSupervision", () => {
  function supervised(overrides: Parameters<typeof restartPolicyWith>[0]) {
    const events: ConsumerEvent[] = [];
    let nowMs = 0;
    const supervision = new ConsumerSupervision(
      "g",
      ["t"],
      restartPolicyWith({ initialDelayMs: 100, maxDelayMs: 400, ...overrides }),
      (event) => events.push(event),
      () => nowMs,
    );
    return { supervision, events, advance: (ms: number) => (nowMs += ms) };
  }

  it("restarts crashes in a row up to the limit, then gives up for good", () => {
    const { supervision, events } = supervised({ maxRestarts: 2 });
    expect(supervision.crashed(new Error("one"))).toEqual({ kind: "restart", delayMs: 100 });
    expect(supervision.state).toEqual({ kind: "restarting", crashes: 1, error: "Error: one" });
    // A failed start is the next crash in the row.
    expect(supervision.crashed(new Error("two"))).toEqual({ kind: "restart", delayMs: 200 });
    expect(supervision.crashed(new Error("three"))).toEqual({ kind: "giveUp" });
    expect(supervision.state).toEqual({ kind: "failed", crashes: 3, error: "Error: three" });
    supervision.started();
    expect(supervision.crashed(new Error("four"))).toEqual({ kind: "giveUp" });
    expect(events.map((event) => [event.kind, event.crashes])).toEqual([
      ["crashed", 1],
      ["crashed", 2],
      ["gaveUp", 3],
    ]);
  });

  it("counts a crash as the first again once the consumer ran for resetAfterMs", () => {
    const { supervision, events, advance } = supervised({ maxRestarts: 1, resetAfterMs: 1_000 });
    supervision.crashed(new Error("one"));
    supervision.started();
    advance(999);
    // Crashed again soon after its restart: the second in a row, past the limit of one.
    expect(supervision.crashed(new Error("two"))).toEqual({ kind: "giveUp" });

    const later = supervised({ maxRestarts: 1, resetAfterMs: 1_000 });
    later.supervision.crashed(new Error("one"));
    later.supervision.started();
    later.advance(1_000);
    expect(later.supervision.crashed(new Error("two"))).toEqual({ kind: "restart", delayMs: 100 });
    expect(events.map((event) => event.kind)).toEqual(["crashed", "restarted", "gaveUp"]);
  });
});

describe("consumersHealth", () => {
  it("is up while every consumer runs, recovering while one restarts, failed once one gave up", () => {
    const running = { groupId: "a", topics: ["t1"], state: { kind: "running" as const } };
    const restarting = {
      groupId: "b",
      topics: ["t2", "t3"],
      state: { kind: "restarting" as const, crashes: 1, error: "Error: coordinator" },
    };
    const failed = {
      groupId: "c",
      topics: ["t4"],
      state: { kind: "failed" as const, crashes: 11, error: "Error: gone" },
    };
    expect(consumersHealth([])).toEqual({ status: "up" });
    expect(consumersHealth([running])).toEqual({ status: "up" });
    expect(consumersHealth([running, restarting])).toEqual({
      status: "recovering",
      detail: "consumer group b (t2, t3) restarting after 1 crash in a row: Error: coordinator",
    });
    expect(consumersHealth([restarting, failed])).toEqual({
      status: "failed",
      detail:
        "consumer group c (t4) gave up after 11 crashes in a row: Error: gone; " +
        "consumer group b (t2, t3) restarting after 1 crash in a row: Error: coordinator",
    });
  });
});

import { describe, expect, it } from "vitest";
import { admit, type BreakerSettings, CircuitBreakers, CLOSED, onFailure } from "./circuit-breaker.js";

const settings: BreakerSettings = { failureThreshold: 3, cooldownMs: 1_000 };

describe("circuit breaker", () => {
  it("stays closed below the threshold and opens at it", () => {
    let state = CLOSED;
    state = onFailure(state, 0, settings);
    state = onFailure(state, 1, settings);
    expect(state).toEqual({ phase: "closed", consecutiveFailures: 2 });
    state = onFailure(state, 2, settings);
    expect(state).toEqual({ phase: "open", openedAtMs: 2 });
  });

  it("defers while open, lets one probe through after the cool-down, defers the rest", () => {
    const open = { phase: "open", openedAtMs: 100 } as const;
    expect(admit(open, 500, settings)).toMatchObject({ kind: "defer", untilMs: 1_100 });
    const probe = admit(open, 1_100, settings);
    expect(probe).toMatchObject({ kind: "probe", state: { phase: "halfOpen", probeStartedAtMs: 1_100 } });
    expect(admit(probe.state, 1_200, settings)).toMatchObject({ kind: "defer", untilMs: 2_100 });
    // A probe that never reported back is replaced after another cool-down.
    expect(admit(probe.state, 2_100, settings)).toMatchObject({ kind: "probe" });
  });

  it("reopens when the probe fails and closes when it succeeds", () => {
    const breakers = new CircuitBreakers(settings);
    for (let i = 0; i < 3; i++) breakers.recordFailure("https://b.test", 0);
    expect(breakers.admit("https://b.test", 10).kind).toBe("defer");
    expect(breakers.admit("https://b.test", 1_000).kind).toBe("probe");
    expect(breakers.recordFailure("https://b.test", 1_050)).toEqual({ phase: "open", openedAtMs: 1_050 });
    expect(breakers.admit("https://b.test", 1_500).kind).toBe("defer");
    expect(breakers.admit("https://b.test", 2_050).kind).toBe("probe");
    breakers.recordSuccess("https://b.test");
    expect(breakers.admit("https://b.test", 2_060).kind).toBe("send");
    expect(breakers.admit("https://other.test", 0).kind).toBe("send");
  });

  it("a success resets the consecutive count", () => {
    const breakers = new CircuitBreakers(settings);
    breakers.recordFailure("o", 0);
    breakers.recordFailure("o", 0);
    breakers.recordSuccess("o");
    breakers.recordFailure("o", 0);
    expect(breakers.stateOf("o")).toEqual({ phase: "closed", consecutiveFailures: 1 });
  });
});

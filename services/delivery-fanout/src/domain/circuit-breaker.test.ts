import { describe, expect, it } from "vitest";
import { admit, type BreakerSettings, CircuitBreakers, CLOSED, onFailure } from "./circuit-breaker.js";

const settings: BreakerSettings = {
  failureThreshold: 3,
  cooldownMs: 1_000,
  maxCooldownMs: 4_000,
  probeTimeoutMs: 500,
};

describe("circuit breaker", () => {
  it("stays closed below the threshold and opens at it with the first cool-down", () => {
    let state = CLOSED;
    state = onFailure(state, 0, settings);
    state = onFailure(state, 1, settings);
    expect(state).toEqual({ phase: "closed", consecutiveFailures: 2 });
    state = onFailure(state, 2, settings);
    expect(state).toEqual({ phase: "open", openedAtMs: 2, cooldownMs: 1_000 });
  });

  it("defers while open, lets one probe through after the cool-down, defers the rest", () => {
    const open = { phase: "open", openedAtMs: 100, cooldownMs: 1_000 } as const;
    expect(admit(open, 500, settings)).toMatchObject({ kind: "defer", untilMs: 1_100 });
    const probe = admit(open, 1_100, settings);
    expect(probe).toMatchObject({
      kind: "probe",
      state: { phase: "halfOpen", probeStartedAtMs: 1_100, cooldownMs: 1_000 },
    });
    expect(admit(probe.state, 1_200, settings)).toMatchObject({ kind: "defer", untilMs: 2_100 });
    // A probe that never reported back is replaced after another cool-down.
    expect(admit(probe.state, 2_100, settings)).toMatchObject({ kind: "probe" });
  });

  it("waits at least the probe timeout for an unanswered probe, asking again every cool-down meanwhile", () => {
    const halfOpen = { phase: "halfOpen", probeStartedAtMs: 0, cooldownMs: 100 } as const;
    expect(admit(halfOpen, 100, settings)).toMatchObject({ kind: "defer", untilMs: 200 });
    expect(admit(halfOpen, 400, settings)).toMatchObject({ kind: "defer", untilMs: 500 });
    expect(admit(halfOpen, 500, settings).kind).toBe("probe");
  });

  it("doubles the cool-down for each failed probe, up to the maximum, and starts over once closed", () => {
    const breakers = new CircuitBreakers(settings);
    for (let i = 0; i < 3; i++) breakers.recordFailure("https://b.test", 0);
    expect(breakers.admit("https://b.test", 10).kind).toBe("defer");
    expect(breakers.admit("https://b.test", 1_000).kind).toBe("probe");
    expect(breakers.recordFailure("https://b.test", 1_050)).toEqual({
      phase: "open",
      openedAtMs: 1_050,
      cooldownMs: 2_000,
    });
    expect(breakers.admit("https://b.test", 2_500).kind).toBe("defer");
    expect(breakers.admit("https://b.test", 3_050).kind).toBe("probe");
    expect(breakers.recordFailure("https://b.test", 3_100)).toMatchObject({ cooldownMs: 4_000 });
    expect(breakers.admit("https://b.test", 7_100).kind).toBe("probe");
    // Capped at the maximum.
    expect(breakers.recordFailure("https://b.test", 7_200)).toMatchObject({ cooldownMs: 4_000 });
    expect(breakers.admit("https://b.test", 11_200).kind).toBe("probe");
    expect(breakers.recordSuccess("https://b.test")).toBe(true);
    expect(breakers.admit("https://b.test", 11_210).kind).toBe("send");
    expect(breakers.admit("https://other.test", 0).kind).toBe("send");
    for (let i = 0; i < 3; i++) breakers.recordFailure("https://b.test", 20_000);
    expect(breakers.stateOf("https://b.test")).toMatchObject({ cooldownMs: 1_000 });
  });

  it("a failure reported while open neither restarts nor grows the cool-down", () => {
    const open = { phase: "open", openedAtMs: 100, cooldownMs: 1_000 } as const;
    expect(onFailure(open, 600, settings)).toEqual(open);
  });

  it("a success resets the consecutive count and says whether the breaker was open", () => {
    const breakers = new CircuitBreakers(settings);
    breakers.recordFailure("o", 0);
    breakers.recordFailure("o", 0);
    expect(breakers.recordSuccess("o")).toBe(false);
    breakers.recordFailure("o", 0);
    expect(breakers.stateOf("o")).toEqual({ phase: "closed", consecutiveFailures: 1 });
  });
});

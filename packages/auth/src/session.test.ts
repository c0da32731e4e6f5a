import { describe, expect, it } from "vitest";
import { DAY_MS, decideSession, LAST_USED_WRITE_INTERVAL_MS } from "./session.js";

const HOUR_MS = 60 * 60 * 1000;
const lastUsedMs = Date.UTC(2026, 0, 1);
const idleMs = 30 * DAY_MS;

describe("decideSession", () => {
  it("keeps a session used within the idle limit", () => {
    expect(decideSession({ lastUsedMs, nowMs: lastUsedMs + 29 * DAY_MS, idleMs })).toEqual({
      valid: true,
      recordUse: true,
    });
    expect(decideSession({ lastUsedMs, nowMs: lastUsedMs + idleMs - 1, idleMs }).valid).toBe(true);
  });

  it("ends a session unused for the idle limit or longer", () => {
    expect(decideSession({ lastUsedMs, nowMs: lastUsedMs + idleMs, idleMs })).toEqual({ valid: false });
    expect(decideSession({ lastUsedMs, nowMs: lastUsedMs + 400 * DAY_MS, idleMs })).toEqual({
      valid: false,
    });
  });

  it("never ends a session when the idle limit is 0", () => {
    expect(decideSession({ lastUsedMs, nowMs: lastUsedMs + 4000 * DAY_MS, idleMs: 0 })).toEqual({
      valid: true,
      recordUse: true,
    });
  });

  it("records a use only once the stored one is an hour old", () => {
    expect(LAST_USED_WRITE_INTERVAL_MS).toBe(HOUR_MS);
    expect(decideSession({ lastUsedMs, nowMs: lastUsedMs, idleMs })).toEqual({
      valid: true,
      recordUse: false,
    });
    expect(decideSession({ lastUsedMs, nowMs: lastUsedMs + HOUR_MS - 1, idleMs })).toEqual({
      valid: true,
      recordUse: false,
    });
    expect(decideSession({ lastUsedMs, nowMs: lastUsedMs + HOUR_MS, idleMs })).toEqual({
      valid: true,
      recordUse: true,
    });
    expect(decideSession({ lastUsedMs, nowMs: lastUsedMs + 5_000, idleMs, writeIntervalMs: 1_000 })).toEqual({
      valid: true,
      recordUse: true,
    });
  });

  it("treats a last use in the future (clock skew between replicas) as recent", () => {
    expect(decideSession({ lastUsedMs: lastUsedMs + HOUR_MS, nowMs: lastUsedMs, idleMs })).toEqual({
      valid: true,
      recordUse: false,
    });
  });
});

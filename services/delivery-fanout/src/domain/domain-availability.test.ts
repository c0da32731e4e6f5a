import { describe, expect, it } from "vitest";
import {
  AVAILABLE,
  type AvailabilityState,
  isUnavailable,
  recordFailureDay,
  utcDay,
} from "./domain-availability.js";

const DAY = 86_400_000;
const start = Date.parse("2025-01-01T08:00:00Z");

/** A fake clock the test moves by hand. */
function fakeClock(atMs: number) {
  let now = atMs;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("unavailable-domain rule", () => {
  it("marks a domain unavailable after failures on 7 distinct days", () => {
    const clock = fakeClock(start);
    let state: AvailabilityState = AVAILABLE;
    for (let day = 1; day <= 6; day++) {
      // Many failures on one day count once.
      state = recordFailureDay(state, clock.now(), 7);
      state = recordFailureDay(state, clock.now() + 3_600_000, 7);
      expect(isUnavailable(state)).toBe(false);
      expect(state.failureDays).toHaveLength(day);
      clock.advance(DAY);
    }
    state = recordFailureDay(state, clock.now(), 7);
    expect(isUnavailable(state)).toBe(true);
    expect(state.unavailableSinceMs).toBe(clock.now());
    expect(state.failureDays[0]).toBe("2025-01-01");
    expect(state.failureDays.at(-1)).toBe("2025-01-07");
  });

  it("counts days, not consecutive days (gaps allowed)", () => {
    const clock = fakeClock(start);
    let state: AvailabilityState = AVAILABLE;
    for (let i = 0; i < 7; i++) {
      state = recordFailureDay(state, clock.now(), 7);
      clock.advance(3 * DAY);
    }
    expect(isUnavailable(state)).toBe(true);
  });

  it("stays unavailable with the first marking time as failures continue", () => {
    let state: AvailabilityState = { failureDays: [], unavailableSinceMs: start };
    state = recordFailureDay(state, start + DAY, 7);
    expect(state.unavailableSinceMs).toBe(start);
  });

  it("uses UTC days", () => {
    expect(utcDay(Date.parse("2025-01-01T23:59:59Z"))).toBe("2025-01-01");
    expect(utcDay(Date.parse("2025-01-02T00:00:00Z"))).toBe("2025-01-02");
  });
});

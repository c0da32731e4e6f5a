/**
 * Mastodon's unavailable-domain rule (DeliveryFailureTracker): a destination that failed on
 * `unavailableAfterDays` distinct days, with no success in between, is marked unavailable and
 * deliveries to it are skipped. A success, or an inbound activity from the domain, clears it.
 */
export interface AvailabilityState {
  /** Distinct UTC days (YYYY-MM-DD) with at least one failure since the last success. */
  failureDays: string[];
  unavailableSinceMs: number | undefined;
}

export const AVAILABLE: AvailabilityState = { failureDays: [], unavailableSinceMs: undefined };

export const DEFAULT_UNAVAILABLE_AFTER_DAYS = 7;

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function recordFailureDay(
  state: AvailabilityState,
  nowMs: number,
  unavailableAfterDays: number,
): AvailabilityState {
  const day = utcDay(nowMs);
  const failureDays = state.failureDays.includes(day)
    ? state.failureDays
    : [...state.failureDays, day].sort();
  const unavailableSinceMs =
    state.unavailableSinceMs ?? (failureDays.length >= unavailableAfterDays ? nowMs : undefined);
  return { failureDays, unavailableSinceMs };
}

export function isUnavailable(state: AvailabilityState): boolean {
  return state.unavailableSinceMs !== undefined;
}

/** No failures since the last success: the state that needs no row. */
export function isAvailable(state: AvailabilityState): boolean {
  return state.failureDays.length === 0 && state.unavailableSinceMs === undefined;
}

/**
 * A circuit breaker per destination (origin). Closed: requests flow. After `failureThreshold`
 * consecutive transient failures it opens: jobs are deferred without a request until its cool-down
 * has passed. Then it is half-open: exactly one job goes out as a probe; its success closes the
 * breaker, its failure opens it again for twice the previous cool-down (at most `maxCooldownMs`).
 * The first cool-down is short (a second by default), so a destination that was away for ten seconds
 * is probed again within about that time, while one that stays away is probed less and less often,
 * but at least every `maxCooldownMs` (30 s by default): how long after it is back it waits for its
 * backlog is bounded by that, whatever the length of the outage. A probe is one request, and only
 * destinations with held deliveries are probed.
 * Pure transitions over plain state.
 */
export interface BreakerSettings {
  failureThreshold: number;
  /** The cool-down after the breaker first opens; doubles for each failed probe. */
  cooldownMs: number;
  /** The longest cool-down. */
  maxCooldownMs: number;
  /**
   * How long a probe may go unanswered before another one is let through (its outcome was never
   * reported, for instance because the job ended without a request); at least the cool-down.
   */
  probeTimeoutMs: number;
}

export const DEFAULT_BREAKER_SETTINGS: BreakerSettings = {
  failureThreshold: 5,
  cooldownMs: 1_000,
  maxCooldownMs: 30_000,
  probeTimeoutMs: 10_000,
};

export type BreakerState =
  | { phase: "closed"; consecutiveFailures: number }
  | { phase: "open"; openedAtMs: number; cooldownMs: number }
  | { phase: "halfOpen"; probeStartedAtMs: number; cooldownMs: number };

export const CLOSED: BreakerState = { phase: "closed", consecutiveFailures: 0 };

export type Admission =
  | { kind: "send"; state: BreakerState }
  /** The one request allowed through after the cool-down. */
  | { kind: "probe"; state: BreakerState }
  | { kind: "defer"; untilMs: number; state: BreakerState };

export function admit(state: BreakerState, nowMs: number, settings: BreakerSettings): Admission {
  switch (state.phase) {
    case "closed":
      return { kind: "send", state };
    case "open": {
      const reopensAtMs = state.openedAtMs + state.cooldownMs;
      if (nowMs < reopensAtMs) return { kind: "defer", untilMs: reopensAtMs, state };
      return {
        kind: "probe",
        state: { phase: "halfOpen", probeStartedAtMs: nowMs, cooldownMs: state.cooldownMs },
      };
    }
    case "halfOpen": {
      // A probe that never reported back must not hold the breaker forever.
      const probeExpiresAtMs = state.probeStartedAtMs + Math.max(state.cooldownMs, settings.probeTimeoutMs);
      // Ask again after a cool-down rather than at the probe's expiry: the probe usually answers sooner.
      if (nowMs < probeExpiresAtMs) {
        return { kind: "defer", untilMs: Math.min(probeExpiresAtMs, nowMs + state.cooldownMs), state };
      }
      return {
        kind: "probe",
        state: { phase: "halfOpen", probeStartedAtMs: nowMs, cooldownMs: state.cooldownMs },
      };
    }
  }
}

export function onSuccess(): BreakerState {
  return CLOSED;
}

export function onFailure(state: BreakerState, nowMs: number, settings: BreakerSettings): BreakerState {
  switch (state.phase) {
    case "closed": {
      const consecutiveFailures = state.consecutiveFailures + 1;
      return consecutiveFailures >= settings.failureThreshold
        ? { phase: "open", openedAtMs: nowMs, cooldownMs: settings.cooldownMs }
        : { phase: "closed", consecutiveFailures };
    }
    case "halfOpen":
      // The probe failed: wait twice as long before the next one.
      return {
        phase: "open",
        openedAtMs: nowMs,
        cooldownMs: Math.min(settings.maxCooldownMs, state.cooldownMs * 2),
      };
    case "open":
      // A request that started before the breaker opened: the cool-down already runs.
      return state;
  }
}

/** The in-memory breakers of the destinations this replica owns (their partitions are its own). */
export class CircuitBreakers {
  private readonly states = new Map<string, BreakerState>();

  constructor(
    readonly settings: BreakerSettings,
    private readonly maxDestinations = 100_000,
  ) {}

  admit(origin: string, nowMs: number): Admission {
    const admission = admit(this.stateOf(origin), nowMs, this.settings);
    this.set(origin, admission.state);
    return admission;
  }

  /** Closes the breaker; true when it was open or half-open (the destination just came back). */
  recordSuccess(origin: string): boolean {
    const wasOpen = this.stateOf(origin).phase !== "closed";
    // Closed breakers without failures are the default; forgetting them keeps the map small.
    this.states.delete(origin);
    return wasOpen;
  }

  recordFailure(origin: string, nowMs: number): BreakerState {
    const next = onFailure(this.stateOf(origin), nowMs, this.settings);
    this.set(origin, next);
    return next;
  }

  stateOf(origin: string): BreakerState {
    return this.states.get(origin) ?? CLOSED;
  }

  private set(origin: string, state: BreakerState): void {
    if (state.phase === "closed" && state.consecutiveFailures === 0) {
      this.states.delete(origin);
      return;
    }
    if (!this.states.has(origin) && this.states.size >= this.maxDestinations) {
      const oldest = this.states.keys().next().value;
      if (oldest !== undefined) this.states.delete(oldest);
    }
    this.states.set(origin, state);
  }
}

/**
 * A circuit breaker per destination (origin). Closed: requests flow. After `failureThreshold`
 * consecutive transient failures it opens: jobs are deferred without a request until `cooldownMs`
 * has passed. Then it is half-open: exactly one job goes out as a probe; its success closes the
 * breaker, its failure opens it again for another cool-down. Pure transitions over plain state.
 */
export interface BreakerSettings {
  failureThreshold: number;
  cooldownMs: number;
}

export const DEFAULT_BREAKER_SETTINGS: BreakerSettings = { failureThreshold: 5, cooldownMs: 5 * 60_000 };

export type BreakerState =
  | { phase: "closed"; consecutiveFailures: number }
  | { phase: "open"; openedAtMs: number }
  | { phase: "halfOpen"; probeStartedAtMs: number };

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
      const reopensAtMs = state.openedAtMs + settings.cooldownMs;
      if (nowMs < reopensAtMs) return { kind: "defer", untilMs: reopensAtMs, state };
      return { kind: "probe", state: { phase: "halfOpen", probeStartedAtMs: nowMs } };
    }
    case "halfOpen": {
      // A probe that never reported back (its process died) must not hold the breaker forever.
      const probeExpiresAtMs = state.probeStartedAtMs + settings.cooldownMs;
      if (nowMs < probeExpiresAtMs) return { kind: "defer", untilMs: probeExpiresAtMs, state };
      return { kind: "probe", state: { phase: "halfOpen", probeStartedAtMs: nowMs } };
    }
  }
}

export function onSuccess(): BreakerState {
  return CLOSED;
}

export function onFailure(state: BreakerState, nowMs: number, settings: BreakerSettings): BreakerState {
  if (state.phase === "closed") {
    const consecutiveFailures = state.consecutiveFailures + 1;
    return consecutiveFailures >= settings.failureThreshold
      ? { phase: "open", openedAtMs: nowMs }
      : { phase: "closed", consecutiveFailures };
  }
  return { phase: "open", openedAtMs: nowMs };
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

  recordSuccess(origin: string): void {
    // Closed breakers without failures are the default; forgetting them keeps the map small.
    this.states.delete(origin);
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

import { BoundedCache } from "@mimi/service-kit";
import type { Sql } from "@mimi/store";
import { markDestinationReachable } from "../destinations.js";
import {
  AVAILABLE,
  type AvailabilityState,
  isAvailable,
  recordFailureDay,
} from "../domain/domain-availability.js";

/**
 * The unavailable-domain record per destination origin, in `delivery.destinations`, shared by every
 * replica (and by inbox-ingest, which clears it when the domain talks to us). A row exists only
 * while the destination has failures since its last success.
 *
 * The replica that owns an origin's `delivery.jobs` partition keeps the origin's state in memory, so
 * the success path of a healthy destination touches no SQL: a "no failures" answer is trusted for
 * `trustAvailableForMs` (another replica may have recorded failures while it owned the partition
 * during a rebalance), and the database is written only when the state changes (a failure, the
 * first success after failures, an explicit clear). A state with failures is re-read on every
 * load, so a row cleared by another process (inbox-ingest) takes effect at once.
 */
export interface DestinationHealth {
  load(origin: string): Promise<AvailabilityState>;
  recordFailure(origin: string, nowMs: number): Promise<AvailabilityState>;
  /** A success: forgets the failure days (write-free when there were none). */
  recordSuccess(origin: string, known: AvailabilityState): Promise<void>;
  /** Clears the record: deliveries to the origin resume (an inbound activity proved it alive). */
  markAvailable(origin: string): Promise<void>;
}

export interface DestinationHealthOptions {
  unavailableAfterDays: number;
  /** How long a "no failures" answer is trusted without asking the database again (default 30 s). */
  trustAvailableForMs?: number;
  /** Origins remembered at most (default 100,000). */
  maxOrigins?: number;
  /** Clock for the trust window (default `Date.now`). */
  now?: () => number;
}

export const DEFAULT_TRUST_AVAILABLE_MS = 30_000;

interface DestinationRow {
  failure_days: string[];
  unavailable_since: Date | null;
}

interface KnownHealth {
  state: AvailabilityState;
  checkedAtMs: number;
}

function toState(row: DestinationRow | undefined): AvailabilityState {
  if (!row) return AVAILABLE;
  return { failureDays: row.failure_days, unavailableSinceMs: row.unavailable_since?.getTime() };
}

/** `origin` is reachable again (a delivery to it succeeded, or a request from it arrived). */
export const markDomainAvailable = markDestinationReachable;

export function createDestinationHealth(sql: Sql, options: DestinationHealthOptions): DestinationHealth {
  const trustMs = options.trustAvailableForMs ?? DEFAULT_TRUST_AVAILABLE_MS;
  const now = options.now ?? Date.now;
  const known = new BoundedCache<string, KnownHealth>({ maxEntries: options.maxOrigins ?? 100_000 });
  const remember = (origin: string, state: AvailabilityState) =>
    known.set(origin, { state, checkedAtMs: now() });

  return {
    async load(origin) {
      const hit = known.get(origin);
      if (hit && isAvailable(hit.state) && now() - hit.checkedAtMs < trustMs) return hit.state;
      const result = await sql.query<DestinationRow>(
        "select failure_days, unavailable_since from delivery.destinations where origin = $1",
        [origin],
      );
      const state = toState(result.rows[0]);
      remember(origin, state);
      return state;
    },
    async recordFailure(origin, nowMs) {
      // Failures are rare next to deliveries; the row is merged under a lock so replicas agree.
      const next = await sql.transaction(async (tx) => {
        await tx.query(
          "insert into delivery.destinations (origin) values ($1) on conflict (origin) do nothing",
          [origin],
        );
        const current = await tx.query<DestinationRow>(
          "select failure_days, unavailable_since from delivery.destinations where origin = $1 for update",
          [origin],
        );
        const merged = recordFailureDay(toState(current.rows[0]), nowMs, options.unavailableAfterDays);
        await tx.query(
          `update delivery.destinations set failure_days = $2::jsonb, unavailable_since = $3, last_failure_at = $4
           where origin = $1`,
          [
            origin,
            JSON.stringify(merged.failureDays),
            merged.unavailableSinceMs === undefined ? null : new Date(merged.unavailableSinceMs),
            new Date(nowMs),
          ],
        );
        return merged;
      });
      remember(origin, next);
      return next;
    },
    async recordSuccess(origin, state) {
      if (isAvailable(state)) {
        // Keep trusting it; refresh the entry only when it was forgotten.
        if (!known.get(origin)) remember(origin, AVAILABLE);
        return;
      }
      await markDomainAvailable(sql, origin);
      remember(origin, AVAILABLE);
    },
    async markAvailable(origin) {
      await markDomainAvailable(sql, origin);
      remember(origin, AVAILABLE);
    },
  };
}

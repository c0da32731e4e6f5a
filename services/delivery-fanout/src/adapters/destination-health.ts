import type { Sql, SqlExecutor } from "@mimi/store";
import { AVAILABLE, type AvailabilityState, recordFailureDay } from "../domain/domain-availability.js";

/**
 * The unavailable-domain record per destination origin, in `delivery.destinations`, shared by every
 * replica (and by inbox-ingest, which clears it when the domain talks to us). A row exists only
 * while the destination has failures since its last success.
 */
export interface DestinationHealth {
  load(origin: string): Promise<AvailabilityState>;
  recordFailure(origin: string, nowMs: number): Promise<AvailabilityState>;
  /** A success: forgets the failure days (a no-op write-free path when there were none). */
  recordSuccess(origin: string, known: AvailabilityState): Promise<void>;
  /** Clears the record: deliveries to the origin resume (an inbound activity proved it alive). */
  markAvailable(origin: string): Promise<void>;
}

interface DestinationRow {
  failure_days: string[];
  unavailable_since: Date | null;
}

function toState(row: DestinationRow | undefined): AvailabilityState {
  if (!row) return AVAILABLE;
  return { failureDays: row.failure_days, unavailableSinceMs: row.unavailable_since?.getTime() };
}

/** For inbox-ingest: an activity arrived from `origin`, so it is reachable again. */
export async function markDomainAvailable(sql: SqlExecutor, origin: string): Promise<void> {
  await sql.query("delete from delivery.destinations where origin = $1", [origin]);
}

export function createDestinationHealth(
  sql: Sql,
  options: { unavailableAfterDays: number },
): DestinationHealth {
  return {
    async load(origin) {
      const result = await sql.query<DestinationRow>(
        "select failure_days, unavailable_since from delivery.destinations where origin = $1",
        [origin],
      );
      return toState(result.rows[0]);
    },
    async recordFailure(origin, nowMs) {
      return sql.transaction(async (tx) => {
        await tx.query(
          "insert into delivery.destinations (origin) values ($1) on conflict (origin) do nothing",
          [origin],
        );
        const current = await tx.query<DestinationRow>(
          "select failure_days, unavailable_since from delivery.destinations where origin = $1 for update",
          [origin],
        );
        const next = recordFailureDay(toState(current.rows[0]), nowMs, options.unavailableAfterDays);
        await tx.query(
          `update delivery.destinations set failure_days = $2::jsonb, unavailable_since = $3, last_failure_at = $4
           where origin = $1`,
          [
            origin,
            JSON.stringify(next.failureDays),
            next.unavailableSinceMs === undefined ? null : new Date(next.unavailableSinceMs),
            new Date(nowMs),
          ],
        );
        return next;
      });
    },
    async recordSuccess(origin, known) {
      if (known.failureDays.length === 0 && known.unavailableSinceMs === undefined) return;
      await markDomainAvailable(sql, origin);
    },
    markAvailable: (origin) => markDomainAvailable(sql, origin),
  };
}

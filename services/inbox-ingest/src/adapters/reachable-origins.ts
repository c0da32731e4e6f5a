import { markDestinationReachable } from "@mimi/delivery-fanout/destinations";
import type { SqlExecutor } from "@mimi/store";

/** Tells delivery that a server is reachable, at most once per origin per `intervalMs`. */
export type ReachableOrigins = (origin: string) => Promise<void>;

export interface ReachableOriginsOptions {
  /** How long an origin reported reachable is not reported again (default 10 minutes). */
  intervalMs?: number;
  /** Origins remembered at most (least recently reported are forgotten first). */
  maxOrigins?: number;
  now?: () => number;
}

/**
 * A server that signs a request to us is up: delivery may stop treating it as unavailable (after days
 * of failed deliveries it sends it nothing at all). Reporting costs one statement, so each origin is
 * reported once per interval rather than once per request; a failure to report is the next request's
 * to retry and never refuses the request.
 */
export function createReachableOrigins(
  sql: SqlExecutor,
  options: ReachableOriginsOptions = {},
): ReachableOrigins {
  const intervalMs = options.intervalMs ?? 10 * 60_000;
  const maxOrigins = options.maxOrigins ?? 10_000;
  const now = options.now ?? Date.now;
  const reportedAt = new Map<string, number>();
  return async (origin) => {
    const last = reportedAt.get(origin);
    if (last !== undefined && now() - last < intervalMs) return;
    reportedAt.delete(origin);
    reportedAt.set(origin, now());
    while (reportedAt.size > maxOrigins) {
      const oldest = reportedAt.keys().next();
      if (oldest.done) break;
      reportedAt.delete(oldest.value);
    }
    try {
      await markDestinationReachable(sql, origin);
    } catch {
      reportedAt.delete(origin);
    }
  };
}

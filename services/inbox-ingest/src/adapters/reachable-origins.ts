import { markDestinationReachable } from "@mimi/delivery-fanout/destinations";
import { BoundedCache } from "@mimi/service-kit";
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
  // Asking about an origin reported a moment ago does not keep it: the least recently reported goes first.
  const reported = new BoundedCache<string, true>({
    maxEntries: options.maxOrigins ?? 10_000,
    ttlMs: options.intervalMs ?? 10 * 60_000,
    now: options.now,
  });
  return async (origin) => {
    if (reported.has(origin)) return;
    reported.set(origin, true);
    try {
      await markDestinationReachable(sql, origin);
    } catch {
      reported.delete(origin);
    }
  };
}

import type { SqlExecutor } from "@mimi/store";

/**
 * What other services may change of delivery-fanout's data (`@mimi/delivery-fanout/destinations`):
 * only that a destination is reachable again. The only SQL outside the service that names the
 * `delivery` schema lives here, next to the migrations that define it.
 */

/**
 * A signed request from `origin` arrived: its server is up, so whatever delivery-fanout recorded of
 * its failures (the unavailable mark after days of them, which stops deliveries to it) is dropped.
 * Mastodon does the same on an inbound request from a domain it had given up on.
 */
export async function markDestinationReachable(sql: SqlExecutor, origin: string): Promise<void> {
  await sql.query("delete from delivery.destinations where origin = $1", [origin]);
}

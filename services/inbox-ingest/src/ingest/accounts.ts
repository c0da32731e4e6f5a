import { existingUsernames } from "@mimi/identity/reads";
import { rememberFound } from "@mimi/service-kit";
import type { SqlExecutor } from "@mimi/store";

/** The local accounts as inbox-ingest sees them: every delivery asks whether its recipients exist. */
export interface LocalAccounts {
  /** Which of `usernames` have an account. */
  existing(usernames: readonly string[]): Promise<Set<string>>;
}

/**
 * identity's `existingUsernames` with a short-lived memory of accounts found (`rememberFound`): an
 * account created a moment ago is found at once and an unknown user still gets 404. The provider has
 * no route that removes an account; the time-to-live bounds how long one removed by hand keeps
 * receiving deliveries (the outbox, where a removed account must be refused at once, asks
 * `existingUsernames` directly).
 */
export function createLocalAccounts(
  sql: SqlExecutor,
  options: { ttlMs: number; now?: () => number; maxEntries?: number },
): LocalAccounts {
  return { existing: rememberFound((usernames) => existingUsernames(sql, usernames), options) };
}

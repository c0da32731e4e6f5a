import { coalesce } from "@mimi/service-kit";
import type { SqlExecutor } from "@mimi/store";

/** Which of `usernames` have an account on this provider (`identity.accounts`, owned by identity). */
export async function existingUsernames(
  sql: SqlExecutor,
  usernames: readonly string[],
): Promise<Set<string>> {
  if (usernames.length === 0) return new Set();
  const result = await sql.query<{ username: string }>(
    "select username from identity.accounts where username = any($1::text[])",
    [usernames],
  );
  return new Set(result.rows.map((row) => row.username));
}

/** The local accounts as inbox-ingest sees them: every delivery asks whether its recipients exist. */
export interface LocalAccounts {
  /** Which of `usernames` have an account. */
  existing(usernames: readonly string[]): Promise<Set<string>>;
}

/**
 * `existingUsernames` with a short-lived memory of accounts found. Only positive answers are kept:
 * an account created a moment ago is looked up in the database (a miss is never cached), so it is
 * found at once and an unknown user still gets 404. The provider has no route that removes an
 * account; the time-to-live bounds how long one removed by hand keeps receiving deliveries (the
 * outbox, where a removed account must be refused at once, asks `existingUsernames` directly).
 * Concurrent lookups of uncached names share one query.
 */
export function createLocalAccounts(
  sql: SqlExecutor,
  options: { ttlMs: number; now?: () => number; maxEntries?: number },
): LocalAccounts {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const foundUntil = new Map<string, number>();
  const lookUp = coalesce<readonly string[], Set<string>>(async (lists) => {
    const found = await existingUsernames(sql, [...new Set(lists.flat())]);
    return lists.map((names) => new Set(names.filter((name) => found.has(name))));
  });

  return {
    async existing(usernames) {
      const at = now();
      const known = new Set<string>();
      const unknown: string[] = [];
      for (const name of usernames) {
        const until = foundUntil.get(name);
        if (until !== undefined && until > at) known.add(name);
        else unknown.push(name);
      }
      if (unknown.length === 0) return known;
      const found = await lookUp(unknown);
      const until = now() + options.ttlMs;
      for (const name of found) {
        foundUntil.delete(name);
        // Oldest first out, so the memory stays bounded whatever names are asked for.
        const oldest = foundUntil.keys().next();
        if (foundUntil.size >= maxEntries && !oldest.done) foundUntil.delete(oldest.value);
        foundUntil.set(name, until);
        known.add(name);
      }
      return known;
    },
  };
}

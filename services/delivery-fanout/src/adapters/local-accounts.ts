import type { SqlExecutor } from "@mimi/store";

/** Which of these usernames have an account on this provider (`identity.accounts`, owned by identity). */
export type LocalAccountLookup = (usernames: readonly string[]) => Promise<Set<string>>;

export function createLocalAccountLookup(sql: SqlExecutor): LocalAccountLookup {
  return async (usernames) => {
    if (usernames.length === 0) return new Set();
    const result = await sql.query<{ username: string }>(
      "select username from identity.accounts where username = any($1::text[])",
      [usernames],
    );
    return new Set(result.rows.map((row) => row.username));
  };
}

/**
 * The channel service answers for its own collections (a channel's followers are its members).
 * `undefined` means the URL is not a local collection.
 */
export type LocalCollectionResolver = (url: string) => Promise<string[] | undefined>;

export const noLocalCollections: LocalCollectionResolver = async () => undefined;

import { existingUsernames } from "@mimi/identity/reads";
import { rememberFound } from "@mimi/service-kit";
import type { SqlExecutor } from "@mimi/store";

/** Which of these usernames have an account on this provider (identity's accounts). */
export type LocalAccountLookup = (usernames: readonly string[]) => Promise<Set<string>>;

/**
 * Looks accounts up through identity's read module and remembers the ones found for `ttlMs` (default
 * 30 s; `rememberFound`): every message to a channel names its local members again, and an account
 * created meanwhile is still found at once. An account removed by hand may get mailbox rows for that long.
 */
export function createLocalAccountLookup(
  sql: SqlExecutor,
  options: { ttlMs?: number; now?: () => number } = {},
): LocalAccountLookup {
  return rememberFound((usernames) => existingUsernames(sql, usernames), {
    ttlMs: options.ttlMs ?? 30_000,
    ...(options.now ? { now: options.now } : {}),
  });
}

/**
 * The channel service answers for its own collections (a channel's followers are its members).
 * `undefined` means the URL is not a local collection.
 */
export type LocalCollectionResolver = (url: string) => Promise<string[] | undefined>;

export const noLocalCollections: LocalCollectionResolver = async () => undefined;

import { BoundedCache } from "@mimi/service-kit";

/**
 * The last known client ids of users, so a claim needs no separate lookup before it asks the claim
 * store. A cached list is only a guess: the statement that confirms a claim also reads the user's
 * current clients, serves only those, and the claim engine stores what it read. So a stale entry
 * costs extra work on one claim, never a wrong answer.
 */
export interface ClientListCache {
  get(username: string): readonly string[] | undefined;
  set(username: string, clientIds: readonly string[]): void;
  forget(username: string): void;
  readonly size: number;
}

export const DEFAULT_CLIENT_LIST_CACHE_USERS = 10_000;

/** At most `maxUsers` entries; the least recently stored or read is dropped first. */
export function createClientListCache(maxUsers = DEFAULT_CLIENT_LIST_CACHE_USERS): ClientListCache {
  const lists = new BoundedCache<string, readonly string[]>({ maxEntries: maxUsers });
  return {
    get: (username) => lists.get(username),
    set: (username, clientIds) => lists.set(username, clientIds),
    forget: (username) => {
      lists.delete(username);
    },
    get size() {
      return lists.size;
    },
  };
}

/** True when both lists hold the same ids in the same order. */
export function sameClientList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, index) => id === b[index]);
}

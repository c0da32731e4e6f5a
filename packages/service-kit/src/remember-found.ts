import { coalesce } from "./coalesce.js";

export interface RememberFoundOptions {
  /** How long a name found stays known without asking again. */
  ttlMs: number;
  now?: () => number;
  /** Names remembered at most; the oldest is forgotten first (default 10,000). */
  maxEntries?: number;
}

/**
 * `lookUp` (which of these names exist?) with a short-lived memory of the names it found. Only
 * positive answers are kept: a name created a moment ago is looked up again at once (a miss is never
 * remembered), and the time-to-live bounds how long a name removed meanwhile still counts as found.
 * Concurrent lookups of names not remembered share one call.
 */
export function rememberFound(
  lookUp: (names: readonly string[]) => Promise<Set<string>>,
  options: RememberFoundOptions,
): (names: readonly string[]) => Promise<Set<string>> {
  const now = options.now ?? Date.now;
  const maxEntries = Math.max(1, options.maxEntries ?? 10_000);
  const foundUntil = new Map<string, number>();
  const lookUpTogether = coalesce<readonly string[], Set<string>>(async (lists) => {
    const found = await lookUp([...new Set(lists.flat())]);
    return lists.map((names) => new Set(names.filter((name) => found.has(name))));
  });

  return async (names) => {
    const at = now();
    const known = new Set<string>();
    const unknown: string[] = [];
    for (const name of names) {
      const until = foundUntil.get(name);
      if (until !== undefined && until > at) known.add(name);
      else unknown.push(name);
    }
    if (unknown.length === 0) return known;
    const found = await lookUpTogether(unknown);
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
  };
}

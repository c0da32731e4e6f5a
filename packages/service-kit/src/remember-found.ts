import { BoundedCache } from "@mimi/bounded-cache";
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
  // Hits leave the order alone: the name found longest ago is forgotten first.
  const found = new BoundedCache<string, true>({
    maxEntries: Math.max(1, options.maxEntries ?? 10_000),
    ttlMs: options.ttlMs,
    now: options.now,
  });
  const lookUpTogether = coalesce<readonly string[], Set<string>>(async (lists) => {
    const existing = await lookUp([...new Set(lists.flat())]);
    return lists.map((names) => new Set(names.filter((name) => existing.has(name))));
  });

  return async (names) => {
    const known = new Set<string>();
    const unknown: string[] = [];
    for (const name of names) {
      if (found.has(name)) known.add(name);
      else unknown.push(name);
    }
    if (unknown.length === 0) return known;
    for (const name of await lookUpTogether(unknown)) {
      found.set(name, true);
      known.add(name);
    }
    return known;
  };
}

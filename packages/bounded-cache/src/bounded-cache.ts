export interface BoundedCacheOptions {
  /** Entries kept at most; setting one more drops the least recently used. 0 keeps nothing. */
  readonly maxEntries: number;
  /** How long an entry is served after it was set; without it, until it is dropped or replaced. */
  readonly ttlMs?: number;
  /** The clock time-to-live is measured with, in milliseconds (default `Date.now`). */
  readonly now?: () => number;
}

interface Entry<V> {
  readonly value: V;
  /** `Infinity` when the entry has no time-to-live. */
  readonly expiresAt: number;
}

function checkDuration(name: string, value: number): number {
  if (Number.isNaN(value) || value < 0) throw new RangeError(`${name} ${value} is not a duration`);
  return value;
}

/**
 * A map that holds at most `maxEntries` entries and, with a time-to-live, serves each only for that
 * long after it was set. `get` marks an entry as recently used; `peek` and `has` leave the order alone.
 * An expired entry is dropped when it is read and counts towards `size` until then or until it is the
 * least recently used. A value of `undefined` cannot be told from a miss: wrap it.
 */
export class BoundedCache<K, V> {
  readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  // A Map iterates in insertion order: re-inserting an entry makes it the most recently used.
  private readonly entries = new Map<K, Entry<V>>();

  constructor(options: BoundedCacheOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 0) {
      throw new RangeError(`maxEntries ${options.maxEntries} is not a whole number of entries`);
    }
    this.maxEntries = options.maxEntries;
    this.ttlMs = checkDuration("ttlMs", options.ttlMs ?? Number.POSITIVE_INFINITY);
    this.now = options.now ?? Date.now;
  }

  /** The value, if held and not expired; it becomes the most recently used. */
  get(key: K): V | undefined {
    const entry = this.live(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** The value, if held and not expired, without marking it as used. */
  peek(key: K): V | undefined {
    return this.live(key)?.value;
  }

  /** Whether a value is held and not expired, without marking it as used. */
  has(key: K): boolean {
    return this.live(key) !== undefined;
  }

  /**
   * Stores the value as the most recently used entry, for the cache's time-to-live or `ttlMs` (a
   * shorter life for some answers, such as misses), and drops the least recently used beyond the bound.
   */
  set(key: K, value: V, options: { readonly ttlMs?: number } = {}): void {
    const ttlMs = options.ttlMs === undefined ? this.ttlMs : checkDuration("ttlMs", options.ttlMs);
    this.entries.delete(key);
    const expiresAt = ttlMs === Number.POSITIVE_INFINITY ? ttlMs : this.now() + ttlMs;
    this.entries.set(key, { value, expiresAt });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
  }

  /** Forgets the entry; true when there was one (expired or not). */
  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  /**
   * Forgets every entry whose value matches; how many. Walks the whole cache, so it is for rare
   * events (an actor's deletion), not for the request path.
   */
  deleteWhere(matches: (value: V, key: K) => boolean): number {
    let deleted = 0;
    for (const [key, entry] of this.entries) {
      if (matches(entry.value, key) && this.entries.delete(key)) deleted += 1;
    }
    return deleted;
  }

  /** Entries held, expired ones not yet dropped included; never more than `maxEntries`. */
  get size(): number {
    return this.entries.size;
  }

  private live(key: K): Entry<V> | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== Number.POSITIVE_INFINITY && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

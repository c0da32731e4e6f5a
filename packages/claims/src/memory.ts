import { assertValid, checkKeyPackageIds, checkPoolKey, checkPoolLists, poolBaseKey } from "./pool-key";
import type { ClaimedFromPools, ClaimedKeyPackage, ClaimPoolCount, ClaimPoolKey, ClaimStore } from "./types";

interface MemoryPool {
  /** Insertion-ordered, so the first entry is the oldest available id. */
  available: Set<string>;
  lastResort: string | null;
}

/** The shared state behind memory stores: several stores over one `MemoryClaimPools` see the same pools. */
export interface MemoryClaimPools {
  readonly pools: Map<string, MemoryPool>;
}

export function createMemoryClaimPools(): MemoryClaimPools {
  return { pools: new Map() };
}

export interface MemoryClaimStoreOptions {
  /** Share pools between stores (as stores over one Redis share its keys); a private set by default. */
  pools?: MemoryClaimPools;
}

/**
 * In-process claim store for standalone runs and tests. Each operation runs synchronously to completion
 * before its promise settles, so claims are atomic within the process.
 */
export function createMemoryClaimStore(options: MemoryClaimStoreOptions = {}): ClaimStore {
  const { pools } = options.pools ?? createMemoryClaimPools();
  let closed = false;

  function enter(pool: ClaimPoolKey, ids: readonly string[] = []): string {
    if (closed) throw new Error("claim store is closed");
    assertValid(checkPoolKey(pool));
    assertValid(checkKeyPackageIds(ids));
    return poolBaseKey("", pool);
  }

  function poolFor(key: string): MemoryPool {
    let pool = pools.get(key);
    if (!pool) {
      pool = { available: new Set(), lastResort: null };
      pools.set(key, pool);
    }
    return pool;
  }

  // Empty pools are dropped so long-running processes do not keep one entry per pool ever seen.
  function dropIfEmpty(key: string, pool: MemoryPool): void {
    if (pool.available.size === 0 && pool.lastResort === null) pools.delete(key);
  }

  function claimFrom(key: string): ClaimedKeyPackage | null {
    const entry = pools.get(key);
    if (!entry) return null;
    const oldest = entry.available.values().next();
    if (!oldest.done) {
      entry.available.delete(oldest.value);
      dropIfEmpty(key, entry);
      return { keyPackageId: oldest.value, lastResort: false };
    }
    return entry.lastResort === null ? null : { keyPackageId: entry.lastResort, lastResort: true };
  }

  return {
    async add(pool, keyPackageIds) {
      const key = enter(pool, keyPackageIds);
      if (keyPackageIds.length === 0) return;
      const entry = poolFor(key);
      for (const id of keyPackageIds) entry.available.add(id);
    },

    async setLastResort(pool, keyPackageId) {
      const key = enter(pool, [keyPackageId]);
      poolFor(key).lastResort = keyPackageId;
    },

    async claim(pool): Promise<ClaimedKeyPackage | null> {
      return claimFrom(enter(pool));
    },

    async claimFirst(poolLists): Promise<Array<ClaimedFromPools | null>> {
      if (closed) throw new Error("claim store is closed");
      assertValid(checkPoolLists(poolLists));
      return poolLists.map((list) => {
        for (const [poolIndex, pool] of list.entries()) {
          const claimed = claimFrom(poolBaseKey("", pool));
          if (claimed) return { ...claimed, poolIndex };
        }
        return null;
      });
    },

    async remove(pool, keyPackageIds) {
      const key = enter(pool, keyPackageIds);
      const entry = pools.get(key);
      if (!entry) return;
      for (const id of keyPackageIds) {
        entry.available.delete(id);
        if (entry.lastResort === id) entry.lastResort = null;
      }
      dropIfEmpty(key, entry);
    },

    async count(pool): Promise<ClaimPoolCount> {
      const entry = pools.get(enter(pool));
      return { available: entry?.available.size ?? 0, hasLastResort: (entry?.lastResort ?? null) !== null };
    },

    async close() {
      closed = true;
    },
  };
}

/** Identifies one pool of KeyPackages: those a client uploaded for one ciphersuite. */
export interface ClaimPoolKey {
  /** The owning user, e.g. "alice@a.example". */
  user: string;
  /** The user's client (device) id. */
  client: string;
  /** MLS ciphersuite number (uint16). */
  ciphersuite: number;
}

export interface ClaimedKeyPackage {
  keyPackageId: string;
  /** True when the pool was empty and its last-resort KeyPackage was handed out (it stays in place). */
  lastResort: boolean;
}

/** What `claimFirst` took for one list of pools: the claim and which pool of the list it came from. */
export interface ClaimedFromPools extends ClaimedKeyPackage {
  /** Index, in the list, of the pool the id was taken from. */
  poolIndex: number;
}

export interface ClaimPoolCount {
  /** Single-use KeyPackages not yet claimed. */
  available: number;
  hasLastResort: boolean;
}

/**
 * Single-use claim state of KeyPackages. The KeyPackages themselves live durably elsewhere; this store
 * only knows which ids of a pool can still be handed out, and hands each one out at most once even
 * under concurrent claims.
 */
export interface ClaimStore {
  /** Makes ids available for claiming. Ids already available are left where they are. */
  add(pool: ClaimPoolKey, keyPackageIds: readonly string[]): Promise<void>;
  /** Sets the pool's last-resort KeyPackage, replacing the previous one. */
  setLastResort(pool: ClaimPoolKey, keyPackageId: string): Promise<void>;
  /**
   * Atomically takes the oldest available id; when none is left, returns the last resort (which is not
   * consumed); null when the pool has neither.
   */
  claim(pool: ClaimPoolKey): Promise<ClaimedKeyPackage | null>;
  /**
   * Several claims in one atomic step: for each list, the first pool (in list order) that has either an
   * available id (taken, as by `claim`) or a last resort (returned, not consumed) answers; null when
   * none of the list's pools has either. Every pool of one call must belong to the same user, so the
   * step touches a single Redis Cluster slot. Lists are served in order.
   */
  claimFirst(poolLists: readonly (readonly ClaimPoolKey[])[]): Promise<Array<ClaimedFromPools | null>>;
  /** Withdraws ids (expired or deleted KeyPackages), including the last resort when it is among them. */
  remove(pool: ClaimPoolKey, keyPackageIds: readonly string[]): Promise<void>;
  count(pool: ClaimPoolKey): Promise<ClaimPoolCount>;
  /** Releases the store's resources. Idempotent; later calls on the store reject. */
  close(): Promise<void>;
}

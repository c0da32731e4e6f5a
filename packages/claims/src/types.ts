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
  /** Withdraws ids (expired or deleted KeyPackages), including the last resort when it is among them. */
  remove(pool: ClaimPoolKey, keyPackageIds: readonly string[]): Promise<void>;
  count(pool: ClaimPoolKey): Promise<ClaimPoolCount>;
  /** Releases the store's resources. Idempotent; later calls on the store reject. */
  close(): Promise<void>;
}

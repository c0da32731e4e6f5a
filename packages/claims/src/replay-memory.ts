import { assertValid } from "./pool-key";
import { checkReplayUse, type ReplayGuard, ReplayGuardFullError } from "./replay";

export const DEFAULT_REPLAY_MAX_ENTRIES = 100_000;

/** The keys behind memory guards: several guards over one ledger see the same uses. */
export interface MemoryReplayLedger {
  /** Key -> expiry (epoch milliseconds). Expired keys linger until the ledger needs their room. */
  readonly expiries: Map<string, number>;
  /** While the ledger is full, no key expires before this time, so no sweep is tried earlier. */
  fullUntil: number;
}

export function createMemoryReplayLedger(): MemoryReplayLedger {
  return { expiries: new Map(), fullUntil: 0 };
}

export interface MemoryReplayGuardOptions {
  /** Most keys remembered at once (default `DEFAULT_REPLAY_MAX_ENTRIES`). */
  maxEntries?: number;
  /** Share keys between guards (as guards over one Redis share it); a private ledger by default. */
  ledger?: MemoryReplayLedger;
  /** Clock in epoch milliseconds (tests move it). */
  now?: () => number;
}

/**
 * In-process replay guard for standalone runs and tests. Bounded: when `maxEntries` unexpired keys are
 * remembered, a new key is refused with `ReplayGuardFullError` until the earliest one expires. The
 * other choice, dropping the oldest key, would let a replay of it through while its signature is
 * still accepted; refusing only delays honest requests, and says for how long.
 */
export function createMemoryReplayGuard(options: MemoryReplayGuardOptions = {}): ReplayGuard {
  const ledger = options.ledger ?? createMemoryReplayLedger();
  const maxEntries = options.maxEntries ?? DEFAULT_REPLAY_MAX_ENTRIES;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(`maxEntries ${maxEntries} is not a positive integer`);
  }
  const now = options.now ?? Date.now;
  let closed = false;

  // One pass over the ledger, at most once per expiry: a full ledger is not swept again before its
  // earliest key expires, so a flood of new keys costs one map lookup each, not a sweep each.
  function makeRoom(at: number): void {
    if (at < ledger.fullUntil) throw new ReplayGuardFullError(secondsUntil(ledger.fullUntil, at));
    let earliest = Number.POSITIVE_INFINITY;
    for (const [key, expiry] of ledger.expiries) {
      if (expiry <= at) ledger.expiries.delete(key);
      else if (expiry < earliest) earliest = expiry;
    }
    if (ledger.expiries.size < maxEntries) return;
    ledger.fullUntil = earliest;
    throw new ReplayGuardFullError(secondsUntil(earliest, at));
  }

  return {
    async firstUse(key, ttlSeconds) {
      if (closed) throw new Error("replay guard is closed");
      assertValid(checkReplayUse(key, ttlSeconds));
      const at = now();
      const expiry = ledger.expiries.get(key);
      if (expiry !== undefined && expiry > at) return false;
      if (expiry !== undefined) ledger.expiries.delete(key);
      if (ledger.expiries.size >= maxEntries) makeRoom(at);
      ledger.expiries.set(key, at + ttlSeconds * 1000);
      return true;
    },

    async close() {
      closed = true;
    },
  };
}

function secondsUntil(time: number, at: number): number {
  return Math.max(1, Math.ceil((time - at) / 1000));
}

import type { Check } from "./pool-key";

/**
 * Remembers which one-time keys (for example digests of signatures) were already used, each for as
 * long as the thing it stands for could be presented again.
 */
export interface ReplayGuard {
  /**
   * True when `key` is used for the first time, and then remembers it for `ttlSeconds`; false while an
   * earlier use is remembered. Atomic: of concurrent calls with one key, exactly one gets true. A
   * repeated use does not extend how long the first one is remembered.
   */
  firstUse(key: string, ttlSeconds: number): Promise<boolean>;
  /** Releases the guard's resources. Idempotent; later calls reject. */
  close(): Promise<void>;
}

export const MAX_REPLAY_KEY_LENGTH = 512;
/** A year: far beyond any signature window, low enough that no backend's expiry arithmetic overflows. */
export const MAX_REPLAY_TTL_SECONDS = 365 * 86_400;

export function checkReplayUse(key: string, ttlSeconds: number): Check {
  if (typeof key !== "string" || key.length === 0) return { ok: false, reason: "replay key is empty" };
  if (key.length > MAX_REPLAY_KEY_LENGTH) {
    return { ok: false, reason: `replay key is longer than ${MAX_REPLAY_KEY_LENGTH} characters` };
  }
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_REPLAY_TTL_SECONDS) {
    return {
      ok: false,
      reason: `replay ttl ${ttlSeconds} is not an integer in 1..${MAX_REPLAY_TTL_SECONDS} seconds`,
    };
  }
  return { ok: true };
}

/**
 * A memory guard holds as many unexpired keys as its bound allows and refuses new ones beyond it
 * (forgetting an unexpired key would let its replay through). Callers answer "try again later".
 */
export class ReplayGuardFullError extends Error {
  constructor(
    /** Seconds until the earliest remembered key expires and makes room. */
    readonly retryAfterSeconds: number,
  ) {
    super(`replay guard is full; room in ${retryAfterSeconds}s`);
    this.name = "ReplayGuardFullError";
  }
}

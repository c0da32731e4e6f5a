/**
 * Sliding sessions: a token not used for the idle limit is refused, and every use moves its expiry
 * forward. The last use is written at most once per `LAST_USED_WRITE_INTERVAL_MS` per token, so
 * reads cost no write; a session therefore ends between `idle - interval` and `idle` after its last use.
 */
export const DEFAULT_SESSION_IDLE_DAYS = 30;
export const DAY_MS = 24 * 60 * 60 * 1000;
export const LAST_USED_WRITE_INTERVAL_MS = 60 * 60 * 1000;

export type SessionDecision =
  | { valid: false }
  /** `recordUse`: the stored last use is old enough to be written again. */
  | { valid: true; recordUse: boolean };

/**
 * Whether a token last used at `lastUsedMs` is still a session at `nowMs`. `idleMs` 0 means sessions
 * never expire (the last use is still recorded, throttled).
 */
export function decideSession(input: {
  lastUsedMs: number;
  nowMs: number;
  idleMs: number;
  writeIntervalMs?: number;
}): SessionDecision {
  const idle = input.nowMs - input.lastUsedMs;
  if (input.idleMs > 0 && idle >= input.idleMs) return { valid: false };
  return { valid: true, recordUse: idle >= (input.writeIntervalMs ?? LAST_USED_WRITE_INTERVAL_MS) };
}

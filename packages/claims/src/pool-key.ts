import type { ClaimPoolKey } from "./types";

export type Check = { ok: true } | { ok: false; reason: string };

const MAX_NAME_LENGTH = 512;
// Braces would break the Redis Cluster hash tag that keeps a user's keys in one slot;
// control characters have no place in identifiers.
function hasForbiddenChar(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f || code === 0x7b || code === 0x7d) return true;
  }
  return false;
}

function checkName(label: string, value: string): Check {
  if (value.length === 0) return { ok: false, reason: `${label} is empty` };
  if (value.length > MAX_NAME_LENGTH)
    return { ok: false, reason: `${label} is longer than ${MAX_NAME_LENGTH} characters` };
  if (hasForbiddenChar(value)) return { ok: false, reason: `${label} contains braces or control characters` };
  return { ok: true };
}

export function checkPoolKey(pool: ClaimPoolKey): Check {
  const user = checkName("user", pool.user);
  if (!user.ok) return user;
  const client = checkName("client", pool.client);
  if (!client.ok) return client;
  if (!Number.isInteger(pool.ciphersuite) || pool.ciphersuite < 1 || pool.ciphersuite > 0xffff) {
    return { ok: false, reason: `ciphersuite ${pool.ciphersuite} is not an integer in 1..65535` };
  }
  return { ok: true };
}

/** `claimFirst` pools: valid keys, all of one user (one Cluster slot), at least one pool per list. */
export function checkPoolLists(poolLists: readonly (readonly ClaimPoolKey[])[]): Check {
  const user = poolLists[0]?.[0]?.user;
  for (const pools of poolLists) {
    if (pools.length === 0) return { ok: false, reason: "a list of pools is empty" };
    for (const pool of pools) {
      const check = checkPoolKey(pool);
      if (!check.ok) return check;
      if (pool.user !== user)
        return { ok: false, reason: "pools of one claimFirst call belong to different users" };
    }
  }
  return { ok: true };
}

export function checkKeyPackageIds(ids: readonly string[]): Check {
  for (const id of ids) {
    if (typeof id !== "string" || id.length === 0) return { ok: false, reason: "a KeyPackage id is empty" };
    if (id.length > MAX_NAME_LENGTH) {
      return { ok: false, reason: `KeyPackage id is longer than ${MAX_NAME_LENGTH} characters` };
    }
  }
  return { ok: true };
}

/** Raised (as a rejected promise) when a pool key or KeyPackage id fails validation. */
export class ClaimInputError extends Error {
  constructor(readonly reason: string) {
    super(`invalid claim input: ${reason}`);
    this.name = "ClaimInputError";
  }
}

export function assertValid(check: Check): void {
  if (!check.ok) throw new ClaimInputError(check.reason);
}

/**
 * The base key of a pool: `<prefix>{<user>}:<client>:<ciphersuite>`. The user is the hash tag, so Redis
 * Cluster stores all of a user's pools in one slot. The ciphersuite is always the last, numeric segment,
 * which keeps the key unambiguous even when a client id contains ':'.
 */
export function poolBaseKey(prefix: string, pool: ClaimPoolKey): string {
  return `${prefix}{${pool.user}}:${pool.client}:${pool.ciphersuite}`;
}

export interface PoolRedisKeys {
  /** Sorted set of available ids, scored by insertion order (oldest claimed first). */
  available: string;
  /** String holding the last-resort id. */
  lastResort: string;
}

export function poolRedisKeys(prefix: string, pool: ClaimPoolKey): PoolRedisKeys {
  const base = poolBaseKey(prefix, pool);
  return { available: `${base}:available`, lastResort: `${base}:last-resort` };
}

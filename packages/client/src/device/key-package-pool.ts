import type { StoredKeyPackage } from "../account-store.js";

/**
 * How a device keeps its KeyPackages on the server: a pool that others claim one at a time to add
 * the device to a group, and one last-resort KeyPackage handed out when the pool is empty. Pure.
 */
export const KEY_PACKAGE_VALIDITY_SECONDS = 60 * 24 * 3600;

export interface TopUpPlan {
  /** Pool KeyPackages to create and upload. */
  pool: number;
  /** Whether a last-resort KeyPackage is created too (the server holds none). */
  lastResort: boolean;
}

/**
 * What to upload when the server holds `available` pool KeyPackages: up to `target` once fewer than
 * `threshold` are left (not before, so a top-up is not an upload after every claim), and a
 * last-resort one whenever it is missing.
 */
export function topUpPlan(
  held: { available: number; hasLastResort: boolean },
  limits: { target: number; threshold: number },
): TopUpPlan {
  return {
    // A target set below the threshold still tops up to the threshold, never a negative count.
    pool: held.available < limits.threshold ? Math.max(limits.target, limits.threshold) - held.available : 0,
    lastResort: !held.hasLastResort,
  };
}

/**
 * How often a sync asks the server how many KeyPackages it holds for this device: others claim them
 * without this device knowing, so it looks now and then (and after every join) rather than on every
 * sync, which would cost the server one more request per sync.
 */
export const KEY_PACKAGE_CHECK_INTERVAL_MS = 10 * 60 * 1000;

/** Whether a sync at `nowMs` should look at the server's count: never looked, or the interval passed. */
export function keyPackageCheckDue(
  lastCheckedMs: number | undefined,
  nowMs: number,
  intervalMs: number,
): boolean {
  return lastCheckedMs === undefined || nowMs - lastCheckedMs >= intervalMs;
}

/** The stored KeyPackages still valid at `nowIso`: an expired one can no longer be claimed, nor its private parts needed. */
export function unexpiredKeyPackages(
  keyPackages: readonly StoredKeyPackage[],
  nowIso: string,
): StoredKeyPackage[] {
  return keyPackages.filter((keyPackage) => keyPackage.notAfter > nowIso);
}

/** The id the directory stores a KeyPackage under: base64url SHA-256 of its bytes. */
export async function keyPackageId(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await crypto.subtle.digest("SHA-256", bytes)).toString("base64url");
}

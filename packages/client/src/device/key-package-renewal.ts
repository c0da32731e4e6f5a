import type { StoredKeyPackage } from "../account-store.js";

/**
 * KeyPackages about to expire are replaced before they do: a pool KeyPackage or a last resort that
 * expires within `KEY_PACKAGE_RENEW_BEFORE_MS` counts as gone already, so the next top-up uploads
 * fresh ones in their place (a new last resort replaces the server's). Otherwise a device that
 * nobody claimed from for two months would be left with nothing anyone can add it with. Pure.
 */

/** A week: longer than a device usually goes without a sync, far shorter than a KeyPackage's life. */
export const KEY_PACKAGE_RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;

export interface HeldKeyPackages {
  available: number;
  hasLastResort: boolean;
  /** The server's unclaimed single-use KeyPackage ids, when it lists them. */
  keyPackageIds?: readonly string[];
}

/** What the server holds that stays valid past `nowMs + renewBeforeMs`, as far as this device knows. */
export function lastingKeyPackages(
  held: HeldKeyPackages,
  local: readonly StoredKeyPackage[],
  nowMs: number,
  renewBeforeMs = KEY_PACKAGE_RENEW_BEFORE_MS,
): { available: number; hasLastResort: boolean } {
  const soon = nowMs + renewBeforeMs;
  const expiring = (keyPackage: StoredKeyPackage) => Date.parse(keyPackage.notAfter) <= soon;
  const byId = new Map(local.map((keyPackage) => [keyPackage.id, keyPackage]));
  const expiringPool = (held.keyPackageIds ?? []).filter((id) => {
    const known = byId.get(id);
    return known !== undefined && !known.lastResort && expiring(known);
  }).length;
  // The server keeps one last resort: the newest this device made (an upload replaces the older).
  const lastResort = local
    .filter((keyPackage) => keyPackage.lastResort)
    .reduce<StoredKeyPackage | undefined>(
      (newest, keyPackage) =>
        newest === undefined || keyPackage.createdAt > newest.createdAt ? keyPackage : newest,
      undefined,
    );
  return {
    available: Math.max(0, held.available - expiringPool),
    hasLastResort: held.hasLastResort && !(lastResort !== undefined && expiring(lastResort)),
  };
}

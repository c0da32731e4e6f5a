import { type ClientState, type KeyPackage, ownLeafIndex, roster } from "@mimi/mls";
import type { ClaimedKeyPackageObject, KeyPackageClaimCollection } from "../api.js";
import type { ChannelRole } from "../client-types.js";
import { credentialNames } from "../credential-validation.js";
import { fromBase64, readKeyPackageBytes } from "../mls-wire.js";

/** Who is in a group, by account and client, read from MLS and from what the channel publishes. Pure. */

/** The client ids of a group's members ("" for a credential that names none). */
export function clientIdsIn(state: ClientState): Set<string> {
  return new Set(roster(state).map((member) => credentialNames(member.credential)?.clientId ?? ""));
}

/** Leaf indices whose credential names `acct` (never our own leaf). */
export function leavesOf(state: ClientState, acct: string): number[] {
  const own = ownLeafIndex(state);
  return roster(state)
    .filter((member) => member.leafIndex !== own && credentialNames(member.credential)?.acct === acct)
    .map((member) => member.leafIndex);
}

/** The members of a group by account: their client ids, in roster order. */
export function clientsByAcct(state: ClientState): Map<string, string[]> {
  const byAcct = new Map<string, string[]>();
  for (const member of roster(state)) {
    const names = credentialNames(member.credential);
    const acct = names?.acct ?? "(unreadable credential)";
    byAcct.set(acct, [...(byAcct.get(acct) ?? []), names?.clientId ?? `leaf ${member.leafIndex}`]);
  }
  return byAcct;
}

/**
 * The KeyPackages of a claim answer that add `acct`'s devices: only those whose credential names that
 * account (a home server answering for another account adds nobody), and none of a device already
 * in the group (`present`).
 */
export function keyPackagesToAdd(
  items: readonly ClaimedKeyPackageObject[],
  acct: string,
  present: ReadonlySet<string>,
): { keyPackage: KeyPackage; bytes: string }[] {
  const keyPackages: { keyPackage: KeyPackage; bytes: string }[] = [];
  for (const item of items) {
    if (typeof item.content !== "string") continue;
    const read = readKeyPackageBytes(fromBase64(item.content));
    if (!read.ok) continue;
    const names = credentialNames(read.keyPackage.leafNode.credential);
    if (names?.acct !== acct || present.has(names.clientId)) continue;
    keyPackages.push({ keyPackage: read.keyPackage, bytes: item.content });
  }
  return keyPackages;
}

/** The claimed KeyPackages of a pending Add that still add someone on the current epoch. */
export function keyPackagesStillMissing(
  stored: readonly string[],
  present: ReadonlySet<string>,
): KeyPackage[] {
  return stored
    .map((bytes) => readKeyPackageBytes(fromBase64(bytes)))
    .flatMap((read) => (read.ok ? [read.keyPackage] : []))
    .filter((kp) => !present.has(credentialNames(kp.leafNode.credential)?.clientId ?? ""));
}

/** The claimed account's actor URL as a claim answer names it (`actor`, `mimi:actor`, `attributedTo`). */
export function actorNamedByClaim(claim: KeyPackageClaimCollection): string | undefined {
  const named = claim.actor ?? claim["mimi:actor"] ?? claim.attributedTo ?? claim.items?.[0]?.attributedTo;
  return typeof named === "string" && /^https?:\/\//.test(named) ? named : undefined;
}

/** `mimi:roles` of a followers collection: actor URL -> role; anything malformed is left out. */
export function rolesOf(value: unknown): Map<string, ChannelRole> {
  const roles = new Map<string, ChannelRole>();
  if (typeof value !== "object" || value === null || Array.isArray(value)) return roles;
  for (const [actor, role] of Object.entries(value)) {
    if (role === "owner" || role === "admin" || role === "member") roles.set(actor, role);
  }
  return roles;
}

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

/** At most this many reasons are named when a claim gives nothing to add; the rest are counted. */
const MAX_CLAIM_REASONS = 5;

/**
 * Why a claim answer gives no KeyPackage to add, in the answer's own words: each client the home
 * server or the peer listed as unavailable with its reason (`mimi:unavailable`), and each item that
 * cannot be used. "already a member" when every item is a device already in the group.
 */
export function whyNothingToAdd(
  claim: KeyPackageClaimCollection,
  acct: string,
  present: ReadonlySet<string>,
): { alreadyMember: boolean; reasons: string[] } {
  const reasons: string[] = [];
  let alreadyPresent = 0;
  for (const item of claim.items ?? claim.orderedItems ?? []) {
    const client = typeof item["mimi:client"] === "string" ? `client ${item["mimi:client"]}` : "a client";
    const read = typeof item.content === "string" ? readKeyPackageBytes(fromBase64(item.content)) : undefined;
    if (!read?.ok) {
      reasons.push(`${client}: its KeyPackage does not decode${read ? ` (${read.detail})` : ""}`);
      continue;
    }
    const names = credentialNames(read.keyPackage.leafNode.credential);
    if (names?.acct !== acct) reasons.push(`${client}: its KeyPackage names ${names?.acct ?? "nobody"}`);
    else if (present.has(names.clientId)) alreadyPresent += 1;
  }
  for (const entry of claim["mimi:unavailable"] ?? []) {
    const client = typeof entry["mimi:client"] === "string" ? `client ${entry["mimi:client"]}` : "a client";
    const reason = typeof entry["mimi:reason"] === "string" ? entry["mimi:reason"] : "unavailable";
    const summary = typeof entry.summary === "string" && entry.summary !== "" ? ` (${entry.summary})` : "";
    reasons.push(`${client}: ${reason}${summary}`);
  }
  const named = reasons.slice(0, MAX_CLAIM_REASONS);
  if (reasons.length > named.length) named.push(`and ${reasons.length - named.length} more`);
  return { alreadyMember: alreadyPresent > 0 && reasons.length === 0, reasons: named };
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

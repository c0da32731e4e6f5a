import { createHash } from "node:crypto";
import { formatAcct, parseAcct } from "./acct.js";

/**
 * A group DM is identified by its participant set P: the distinct participants' `acct:` URIs,
 * lowercased and sorted by code unit, and by the conversation key derived from it. Providers and
 * clients must compute both the same way, so they live here once. Pure.
 */

/** Code-unit order, the order P is sorted in (not locale order, which differs between runtimes). */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The canonical form of one acct (lowercase `acct:user@host`), or undefined when it is not one. */
export function canonicalAcct(value: string): string | undefined {
  const parsed = parseAcct(value);
  return parsed.ok ? formatAcct(parsed.acct).toLowerCase() : undefined;
}

/**
 * P for a list of accts, each `acct:u@h`, `u@h` or `@u@h`: lowercased, distinct, sorted by code unit.
 * Undefined when one is not an acct.
 */
export function participantSet(accts: readonly string[]): string[] | undefined {
  const set = new Set<string>();
  for (const entry of accts) {
    const parsed = parseAcct(entry.trim(), { lenient: true });
    if (!parsed.ok) return undefined;
    set.add(formatAcct(parsed.acct).toLowerCase());
  }
  return [...set].sort(compareCodeUnits);
}

/** True when `list` is already a participant set (canonical accts, distinct, sorted). */
export function isParticipantSet(list: readonly string[]): boolean {
  const set = participantSet(list);
  return set !== undefined && set.length === list.length && set.every((acct, i) => acct === list[i]);
}

/** The conversation key: base64url (no padding) SHA-256 of P joined by "\n". */
export function conversationKey(participants: readonly string[]): string {
  return createHash("sha256").update(participants.join("\n"), "utf8").digest("base64url");
}

import { createHash } from "node:crypto";
import { formatAcct, parseAcct } from "@mimi/activitypub";

/**
 * The rules that keep a channel of kind DM a group DM (docs/protocol.md section 14.5): its users are
 * exactly its participant set P, fixed for its life. Pure; the sequencer supplies the accts it read from
 * credentials.
 */

export type DmRefusalReason =
  | "dmParticipantsInvalid"
  | "dmConversationMismatch"
  | "dmRosterMismatch"
  | "dmNotParticipant"
  | "dmParticipantRemoval"
  | "dmFixed";

export type DmCheck<T = undefined> =
  | (T extends undefined ? { readonly ok: true } : { readonly ok: true; readonly value: T })
  | { readonly ok: false; readonly reason: DmRefusalReason; readonly summary: string };

const refuse = (reason: DmRefusalReason, summary: string) => ({ ok: false as const, reason, summary });

/** The canonical form of one acct (lowercase `acct:user@host`), or undefined. */
export function canonicalAcct(value: string): string | undefined {
  const parsed = parseAcct(value);
  return parsed.ok ? formatAcct(parsed.acct).toLowerCase() : undefined;
}

/** The conversation key: base64url SHA-256 of P joined by "\n". */
export function conversationKey(participants: readonly string[]): string {
  return createHash("sha256").update(participants.join("\n"), "utf8").digest("base64url");
}

/**
 * A DM Create's `mimi:participants` and `mimi:conversation`: a sorted list of 2..max distinct
 * canonical accts holding the creator, and its key.
 */
export function checkDmParticipants(
  participants: unknown,
  conversation: unknown,
  creatorAcct: string,
  maxParticipants: number,
): DmCheck<readonly string[]> {
  const invalid = (why: string) => refuse("dmParticipantsInvalid", `mimi:participants ${why}`);
  if (!Array.isArray(participants)) return invalid("must be a list of acct URIs");
  if (participants.length < 2 || participants.length > maxParticipants)
    return invalid(`must list 2 to ${maxParticipants} participants`);
  const list: string[] = [];
  for (const entry of participants) {
    if (typeof entry !== "string" || canonicalAcct(entry) !== entry)
      return invalid("must hold lowercase acct: URIs only");
    const previous = list[list.length - 1];
    if (previous !== undefined && !(previous < entry)) return invalid("must be sorted and distinct");
    list.push(entry);
  }
  const creator = canonicalAcct(creatorAcct);
  if (creator === undefined || !list.includes(creator))
    return invalid(`must include the creator ${creatorAcct}`);
  if (conversation !== conversationKey(list))
    return refuse("dmConversationMismatch", "mimi:conversation is not the key of mimi:participants");
  return { ok: true, value: list };
}

/** A new DM group's users (the accts of its leaves) are exactly P, each with at least one leaf. */
export function checkDmRoster(leafAccts: readonly string[], participants: readonly string[]): DmCheck {
  const users = new Set(leafAccts.map((acct) => canonicalAcct(acct) ?? acct));
  const expected = new Set(participants);
  const missing = participants.filter((acct) => !users.has(acct));
  const extra = [...users].filter((acct) => !expected.has(acct));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      missing.length > 0 ? `no leaf for ${missing.join(", ")}` : "",
      extra.length > 0 ? `leaves of non-participants ${extra.join(", ")}` : "",
    ].filter((part) => part !== "");
    return refuse(
      "dmRosterMismatch",
      `the group's users must be exactly the participants: ${parts.join("; ")}`,
    );
  }
  return { ok: true };
}

/** An Add in a DM group adds devices of participants only. */
export function checkDmAdd(addedAccts: readonly string[], participants: readonly string[]): DmCheck {
  const expected = new Set(participants);
  const outsiders = addedAccts.filter((acct) => !expected.has(canonicalAcct(acct) ?? acct));
  if (outsiders.length > 0)
    return refuse(
      "dmNotParticipant",
      `${[...new Set(outsiders)].join(", ")} is not a participant; adding a person makes a different conversation`,
    );
  return { ok: true };
}

/** A commit in a DM group may not leave a participant without a leaf. */
export function checkDmRemaining(
  remainingLeafAccts: readonly string[],
  participants: readonly string[],
): DmCheck {
  const users = new Set(remainingLeafAccts.map((acct) => canonicalAcct(acct) ?? acct));
  const gone = participants.filter((acct) => !users.has(acct));
  if (gone.length > 0)
    return refuse(
      "dmParticipantRemoval",
      `${gone.join(", ")} would have no device left; removing a person makes a different conversation`,
    );
  return { ok: true };
}

/** What a DM group never takes: a name, roles, departures. */
export function dmFixedRefusal(kind: "rename" | "role" | "leave"): { reason: "dmFixed"; summary: string } {
  const what = kind === "rename" ? "a name" : kind === "role" ? "roles" : "departures";
  return { reason: "dmFixed", summary: `a DM group has no ${what}: its participants are fixed` };
}

import { canonicalAcct, conversationKey } from "@mimi/activitypub";

export { canonicalAcct, conversationKey };

/**
 * The rules that keep a channel of kind DM a group DM (docs/protocol.md section 14.5): its users are
 * exactly its participant set P, fixed for its life. Pure; the sequencer supplies the accts it read from
 * credentials.
 */

export type DmRefusalReason =
  | "dmParticipantsInvalid"
  | "dmConversationMismatch"
  | "dmNotParticipant"
  | "dmParticipantRemoval"
  | "dmFixed";

export type DmCheck<T = undefined> =
  | (T extends undefined ? { readonly ok: true } : { readonly ok: true; readonly value: T })
  | { readonly ok: false; readonly reason: DmRefusalReason; readonly summary: string };

const refuse = (reason: DmRefusalReason, summary: string) => ({ ok: false as const, reason, summary });

/**
 * A DM Create's `mimi:participants` and `mimi:conversation`: a sorted list of 2..max distinct
 * canonical accts holding the creator (when `creatorAcct` is given), and its key.
 */
export function checkDmParticipants(
  participants: unknown,
  conversation: unknown,
  creatorAcct: string | undefined,
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
  // Without the creator's acct (not known before the GroupInfo is verified) only the list is checked.
  const creator = creatorAcct === undefined ? undefined : canonicalAcct(creatorAcct);
  if (creatorAcct !== undefined && (creator === undefined || !list.includes(creator)))
    return invalid(`must include the creator ${creatorAcct}`);
  if (conversation !== conversationKey(list))
    return refuse("dmConversationMismatch", "mimi:conversation is not the key of mimi:participants");
  return { ok: true, value: list };
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

/**
 * The members a DM group's actor document adds to a channel's (protocol.md section 14.2): its kind,
 * its participants and key, and the actor each participant's acct resolves to, which is what a
 * receiving provider compares a message's `to` with. `actorOf` must hold every participant.
 */
export function dmActorFields(
  participants: readonly string[],
  actorOf: ReadonlyMap<string, string>,
): Record<string, unknown> {
  const participantActors: Record<string, string> = {};
  for (const acct of participants) {
    const actor = actorOf.get(acct);
    if (actor === undefined) throw new Error(`no actor for the participant ${acct}`);
    participantActors[acct] = actor;
  }
  return {
    "mimi:kind": "dm",
    "mimi:conversation": conversationKey(participants),
    "mimi:participants": [...participants],
    "mimi:participantActors": participantActors,
  };
}

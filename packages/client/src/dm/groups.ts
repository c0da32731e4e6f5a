import type { ClientState } from "@mimi/mls";
import type { ChannelRecord } from "../account-store.js";
import { type Activity, objectField, stringField } from "../activities.js";
import { clientsByAcct } from "../conversation/roster.js";
import type { KnownDmGroup } from "./activities.js";
import { canonicalAcct, compareCodeUnits, conversationKey } from "./conversation.js";

/** What a device keeps of its DM groups and reads from a DM group's Create. Pure. */

/** At most this many participants in a group DM (docs/protocol.md section 14.3). */
export const MAX_DM_PARTICIPANTS = 32;

/**
 * The group DM a channel's Create{Service} starts (section 14.3), or undefined for a channel or a
 * Create whose participants are not a sorted set of 2 to 32 lowercase accts with its key.
 */
export function dmOfCreate(activity: Activity): ChannelRecord["dm"] {
  const object = objectField(activity, "object");
  if (stringField(activity, "type") !== "Create" || object?.type !== "Service") return undefined;
  if (object["mimi:kind"] !== "dm") return undefined;
  const participants = object["mimi:participants"];
  const conversation = object["mimi:conversation"];
  if (!Array.isArray(participants) || typeof conversation !== "string") return undefined;
  if (participants.length < 2 || participants.length > MAX_DM_PARTICIPANTS) return undefined;
  const accts = participants.filter(
    (entry): entry is string =>
      typeof entry === "string" && entry.startsWith("acct:") && entry === entry.toLowerCase(),
  );
  const sortedSet = accts.every((acct, i) => i === 0 || compareCodeUnits(accts[i - 1] as string, acct) < 0);
  if (accts.length !== participants.length || !sortedSet) return undefined;
  if (conversationKey(accts) !== conversation) return undefined;
  return { participants: accts, conversation };
}

/**
 * The DM group as the checks of section 14.8 need it, once this device knows every participant's
 * actor (from the Create and the Adds); undefined for a channel, or while an Add is still missing.
 */
export function knownDmGroup(record: ChannelRecord): KnownDmGroup | undefined {
  if (!record.dm) return undefined;
  const participantActors = new Map<string, string>();
  for (const acct of record.dm.participants) {
    const actor = record.actors[acct];
    if (actor === undefined) return undefined;
    participantActors.set(acct, actor);
  }
  return { url: record.url, participants: record.dm.participants, participantActors };
}

/** The participants of a DM group this device has no actor for yet (not added, or not seen added). */
export function participantsWithoutActor(record: ChannelRecord): string[] {
  return (record.dm?.participants ?? []).filter((acct) => record.actors[acct] === undefined);
}

/** A usable DM group: not failed or left. */
export function isLiveDmGroup(record: ChannelRecord): boolean {
  return record.dm !== undefined && (record.status === "active" || record.status === "pending");
}

/**
 * The accounts of a DM group's roster that are not its participants (section 14.8): a group whose
 * host let one in is not the conversation any more. An unreadable credential counts as an outsider.
 */
export function outsidersOf(participants: readonly string[], rosterAccts: Iterable<string>): string[] {
  const allowed = new Set(participants);
  return [...rosterAccts].filter((acct) => {
    const canonical = canonicalAcct(acct);
    return canonical === undefined || !allowed.has(canonical);
  });
}

/**
 * Why this device must not take `state` for the conversation of `record`: a DM group whose roster holds
 * someone who is not a participant (section 14.8), whichever way the state came (a Welcome, a commit,
 * an external join). Undefined for a channel, or a DM group of its participants only.
 */
export function dmRosterRefusal(record: Pick<ChannelRecord, "dm">, state: ClientState): string | undefined {
  if (record.dm === undefined) return undefined;
  const outsiders = outsidersOf(record.dm.participants, clientsByAcct(state).keys());
  return outsiders.length > 0 ? notParticipants(outsiders) : undefined;
}

/** Why a DM group with `outsiders` in its roster is refused. */
function notParticipants(outsiders: readonly string[]): string {
  const who = outsiders.join(", ");
  return `the DM group holds ${who}, not ${outsiders.length === 1 ? "a participant" : "participants"} of the conversation`;
}

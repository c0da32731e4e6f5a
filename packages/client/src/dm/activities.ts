import { ACTIVITY_CONTEXT, formatAcct, parseAcct } from "@mimi/activitypub";
import { toWireObject } from "@mimi/mls";
import { type Activity, followersOf, idOf, newActivityId, stringField } from "../activities.js";
import { compareCodeUnits, conversationKey } from "./conversation.js";

/**
 * The activities of a group DM as docs/protocol.md section 14 pins them down, and the checks a
 * receiving device makes of a DM message before and after decrypting it. Pure: no I/O.
 */

/** A DM group as a device knows it: its actor URL, its participants, and each one's actor. */
export interface KnownDmGroup {
  readonly url: string;
  /** P: lowercase acct URIs, sorted. */
  readonly participants: readonly string[];
  /** acct URI → actor URL, for every participant. */
  readonly participantActors: ReadonlyMap<string, string>;
}

/** The Create{Service} of a DM group (section 14.3): the creator alone, at epoch 0. */
export function createDmGroupActivity(
  actor: string,
  group: string,
  participants: readonly string[],
  groupInfo: Uint8Array,
) {
  return {
    "@context": ACTIVITY_CONTEXT,
    id: newActivityId(actor),
    type: "Create",
    actor,
    target: group,
    to: [followersOf(group)],
    object: {
      type: "Service",
      id: group,
      "mimi:kind": "dm",
      "mimi:participants": [...participants],
      "mimi:conversation": conversationKey(participants),
    },
    "mimi:groupInfo": toWireObject(groupInfo),
  };
}

/**
 * A DM message (section 14.4): addressed to every participant's actor, the sender's own included so
 * their other devices get it, and linked to its group by `context`; no `target`.
 */
export function dmMessageActivity(actor: string, group: KnownDmGroup, privateMessage: Uint8Array) {
  return {
    "@context": ACTIVITY_CONTEXT,
    id: newActivityId(actor),
    type: "Create",
    actor,
    context: group.url,
    to: [...group.participantActors.values()].sort(compareCodeUnits),
    object: toWireObject(privateMessage),
  };
}

/** Whether a mailbox item is a DM message: a Create of a PrivateMessage with a `context`, no `target`. */
export function isDmMessage(activity: Activity): boolean {
  const object = activity.object;
  return (
    stringField(activity, "type") === "Create" &&
    typeof object === "object" &&
    object !== null &&
    (object as Record<string, unknown>).type === "PrivateMessage" &&
    idOf(activity.context) !== undefined &&
    activity.target === undefined
  );
}

export type DmEnvelopeCheck =
  | { readonly ok: true; readonly group: KnownDmGroup; readonly actor: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Before decrypting: the home server verified who signed the delivery (`deliveredBy`); that must be
 * the activity's actor, a participant of a DM group this device holds, and `to` exactly the group's
 * participants' actors. Anything else is refused whatever it claims.
 */
export function checkDmEnvelope(
  activity: Activity,
  deliveredBy: string | undefined,
  groupOf: (url: string) => KnownDmGroup | undefined,
): DmEnvelopeCheck {
  const actor = idOf(activity.actor);
  if (actor === undefined || deliveredBy !== actor)
    return { ok: false, reason: `a DM message delivered by ${deliveredBy ?? "nobody"}, not by its actor` };
  const url = idOf(activity.context);
  const group = url === undefined ? undefined : groupOf(url);
  if (group === undefined)
    return { ok: false, reason: `a DM message for ${url ?? "no group"}, which we do not hold` };
  const actors = new Set(group.participantActors.values());
  if (!actors.has(actor)) return { ok: false, reason: `${actor} is not a participant of ${group.url}` };
  const to = Array.isArray(activity.to) ? activity.to : [];
  const addressed = new Set(to.filter((entry): entry is string => typeof entry === "string"));
  if (
    addressed.size !== to.length ||
    addressed.size !== actors.size ||
    ![...addressed].every((a) => actors.has(a))
  )
    return { ok: false, reason: `a DM message to another set than the participants of ${group.url}` };
  return { ok: true, group, actor };
}

/**
 * After decrypting: the message is shown as from the acct of its MLS credential, never from the
 * envelope alone; that acct must be a participant whose actor is the envelope's.
 */
export function checkDmSender(
  group: KnownDmGroup,
  actor: string,
  credentialAcct: string,
): { readonly ok: true; readonly sender: string } | { readonly ok: false; readonly reason: string } {
  const parsed = parseAcct(credentialAcct);
  const acct = parsed.ok ? formatAcct(parsed.acct).toLowerCase() : undefined;
  if (acct === undefined || !group.participants.includes(acct))
    return { ok: false, reason: `the sender's credential (${credentialAcct}) is not a participant` };
  if (group.participantActors.get(acct) !== actor)
    return { ok: false, reason: `the sender's credential (${acct}) is not the actor ${actor}` };
  return { ok: true, sender: acct };
}

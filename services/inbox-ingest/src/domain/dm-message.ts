import {
  compareCodeUnits,
  conversationKey,
  isParticipantSet,
  parseAcct,
  participantSet,
} from "@mimi/activitypub";

export { compareCodeUnits, conversationKey, isParticipantSet, participantSet };

/**
 * Group DMs (docs/protocol.md section 14): a message directly addressed to a conversation's
 * participants, linked by `context` to the conversation's DM group. Everything here is pure; the
 * group's actor document is fetched by the caller.
 */

/** A DM group as its actor document describes it. */
export interface DmGroup {
  readonly id: string;
  /** The MLS group id (the document's `mimi:groupId`, base64url). */
  readonly groupId: string;
  readonly epoch: number;
  /** P: lowercase acct URIs, sorted. */
  readonly participants: readonly string[];
  /** acct URI → actor URL, one entry per participant. */
  readonly participantActors: ReadonlyMap<string, string>;
  readonly conversation: string;
}

/** A refusal of a DM message, as section 14.9 lists them. */
export type DmRefusalReason =
  | "dmMalformed"
  | "dmNotADmGroup"
  | "dmParticipantsUnverified"
  | "dmSenderNotParticipant"
  | "dmRecipientsMismatch"
  | "dmWrongGroup"
  | "dmEpochOutOfWindow"
  | "dmEpochAhead";

export interface DmRefusal {
  readonly ok: false;
  readonly status: 400 | 403 | 409 | 503;
  readonly reason: DmRefusalReason;
  readonly detail: string;
}

const STATUS: Record<DmRefusalReason, DmRefusal["status"]> = {
  dmMalformed: 400,
  dmNotADmGroup: 403,
  dmParticipantsUnverified: 403,
  dmSenderNotParticipant: 403,
  dmRecipientsMismatch: 403,
  dmWrongGroup: 403,
  dmEpochOutOfWindow: 409,
  // The group may have moved on since it was last read (at most once a second): worth sending again.
  dmEpochAhead: 503,
};

function refuse(reason: DmRefusalReason, detail: string): DmRefusal {
  return { ok: false, status: STATUS[reason], reason, detail };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== "string") return false;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

/**
 * Reads a DM group's actor document fetched from `url`. Undefined when it is not one (not a Service
 * of `mimi:kind` "dm", another id, or a participant list that does not hold together).
 */
export function readDmGroup(document: unknown, url: string, maxParticipants: number): DmGroup | undefined {
  if (!isRecord(document)) return undefined;
  if (document.type !== "Service" || document["mimi:kind"] !== "dm" || document.id !== url) return undefined;
  const groupId = document["mimi:groupId"];
  const epoch = document["mimi:epoch"];
  const participants = document["mimi:participants"];
  const actors = document["mimi:participantActors"];
  const conversation = document["mimi:conversation"];
  if (typeof groupId !== "string" || !/^[A-Za-z0-9_-]{1,86}$/.test(groupId)) return undefined;
  if (typeof epoch !== "number" || !Number.isSafeInteger(epoch) || epoch < 0) return undefined;
  if (!Array.isArray(participants) || participants.length < 2 || participants.length > maxParticipants)
    return undefined;
  if (!participants.every((entry): entry is string => typeof entry === "string")) return undefined;
  if (!isParticipantSet(participants)) return undefined;
  if (typeof conversation !== "string" || conversation !== conversationKey(participants)) return undefined;
  if (!isRecord(actors)) return undefined;
  const participantActors = new Map<string, string>();
  for (const acct of participants) {
    const actor = actors[acct];
    if (!isHttpUrl(actor)) return undefined;
    participantActors.set(acct, actor);
  }
  if (new Set(participantActors.values()).size !== participants.length) return undefined;
  return { id: url, groupId, epoch, participants, participantActors, conversation };
}

/** The parts of a direct-addressed DM message (section 14.4) the checks need. */
export interface DmMessage {
  readonly actor: string;
  readonly context: string;
  readonly to: readonly string[];
  /** The PrivateMessage's TLS-encoded MLSMessage. */
  readonly message: Uint8Array;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Whether an activity is meant as a DM message: a Create of a PrivateMessage with a `context` and no
 * `target`. Channel messages carry `target` and are left to the channel rules.
 */
export function isDmMessageShape(activity: Readonly<Record<string, unknown>>): boolean {
  const object = activity.object;
  return (
    activity.type === "Create" &&
    isRecord(object) &&
    object.type === "PrivateMessage" &&
    activity.context !== undefined &&
    activity.target === undefined
  );
}

/** Reads section 14.4's shape; a refusal `dmMalformed` says what is wrong. */
export function readDmMessage(
  activity: Readonly<Record<string, unknown>>,
  maxParticipants: number,
): { readonly ok: true; readonly value: DmMessage } | DmRefusal {
  const { actor, context, to, object } = activity;
  if (typeof actor !== "string") return refuse("dmMalformed", "actor must be the sender's actor URL");
  if (!isHttpUrl(context)) return refuse("dmMalformed", "context must be the DM group's actor URL");
  for (const field of ["target", "cc", "bto", "bcc", "audience"]) {
    const value = activity[field];
    if (value !== undefined && !(Array.isArray(value) && value.length === 0))
      return refuse("dmMalformed", `a DM message has no ${field}`);
  }
  if (!Array.isArray(to) || to.length < 2 || to.length > maxParticipants)
    return refuse("dmMalformed", `to must list 2 to ${maxParticipants} participants' actor URLs`);
  if (!to.every(isHttpUrl)) return refuse("dmMalformed", "every entry of to must be an actor URL");
  if (!isRecord(object) || object.type !== "PrivateMessage")
    return refuse("dmMalformed", "object must be a PrivateMessage");
  if (object.mediaType !== "message/mls" || object.encoding !== "base64")
    return refuse("dmMalformed", 'the PrivateMessage needs mediaType "message/mls" and encoding "base64"');
  const content = object.content;
  if (typeof content !== "string" || content.length === 0 || !BASE64.test(content))
    return refuse("dmMalformed", "the PrivateMessage's content must be base64");
  const message = new Uint8Array(Buffer.from(content, "base64"));
  return { ok: true, value: { actor, context, to, message } };
}

/** An MLS varint (RFC 9420 section 2.1.2): [value, bytes read], or undefined. */
function readVarint(bytes: Uint8Array, at: number): [number, number] | undefined {
  const first = bytes[at];
  if (first === undefined) return undefined;
  const prefix = first >> 6;
  if (prefix === 3) return undefined;
  const length = 1 << prefix;
  if (at + length > bytes.length) return undefined;
  let value = first & 0x3f;
  for (let i = 1; i < length; i++) value = value * 256 + (bytes[at + i] ?? 0);
  return [value, length];
}

/**
 * The clear header of an MLSMessage holding a PrivateMessage (RFC 9420 section 6.3): its group id and
 * epoch. Undefined when the bytes are not such a message.
 */
export function privateMessageHeader(bytes: Uint8Array): { groupId: Uint8Array; epoch: bigint } | undefined {
  // version mls10 (1), wire_format mls_private_message (2)
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 1 || bytes[2] !== 0 || bytes[3] !== 2)
    return undefined;
  const length = readVarint(bytes, 4);
  if (length === undefined) return undefined;
  const [groupIdLength, read] = length;
  const start = 4 + read;
  const end = start + groupIdLength;
  if (groupIdLength === 0 || end + 8 > bytes.length) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { groupId: bytes.slice(start, end), epoch: view.getBigUint64(end) };
}

/** What the receiving provider knows besides the message and the group. */
export interface DmCheckContext {
  /** This provider's acct domain. */
  readonly domain: string;
  /** The actor URL of a local user, when the acct's host is this provider's domain. */
  readonly localActorOf: (acct: string) => string | undefined;
  /** How many epochs before the group's a message may be (MIMI_DM_EPOCH_WINDOW). */
  readonly epochWindow: number;
}

/**
 * Section 14.4's checks 3 to 7, in order, for a message whose signer is already known to be its actor.
 * `group` is undefined when `context` is not a DM group.
 */
export function checkDmMessage(
  message: DmMessage,
  group: DmGroup | undefined,
  context: DmCheckContext,
): { readonly ok: true } | DmRefusal {
  if (group === undefined) return refuse("dmNotADmGroup", `${message.context} is not a DM group`);
  for (const [acct, actor] of group.participantActors) {
    const parsed = parseAcct(acct);
    if (!parsed.ok || parsed.acct.host.toLowerCase() !== context.domain.toLowerCase()) continue;
    const local = context.localActorOf(acct);
    if (local !== actor)
      return refuse(
        "dmParticipantsUnverified",
        `the group names ${actor} for ${acct}, which is not this provider's`,
      );
  }
  const actors = new Set(group.participantActors.values());
  if (!actors.has(message.actor))
    return refuse("dmSenderNotParticipant", `${message.actor} is not a participant of ${group.id}`);
  const to = new Set(message.to);
  if (
    to.size !== message.to.length ||
    to.size !== actors.size ||
    ![...to].every((entry) => actors.has(entry))
  )
    return refuse("dmRecipientsMismatch", "to must be exactly the actors of the conversation's participants");
  const header = privateMessageHeader(message.message);
  if (header === undefined) return refuse("dmMalformed", "the PrivateMessage is not an MLS PrivateMessage");
  if (Buffer.from(header.groupId).toString("base64url") !== group.groupId)
    return refuse("dmWrongGroup", `the PrivateMessage is not of ${group.id}'s MLS group`);
  const epoch = header.epoch;
  const current = BigInt(group.epoch);
  if (epoch > current)
    return refuse(
      "dmEpochAhead",
      `the message is for epoch ${epoch}, the group was last read at ${current}: send it again in a moment`,
    );
  if (epoch < current - BigInt(context.epochWindow))
    return refuse(
      "dmEpochOutOfWindow",
      `the message is for epoch ${epoch}, the group is at ${current} (window ${context.epochWindow})`,
    );
  return { ok: true };
}

/** Whether a message's epoch is newer than a cached group's, so the group is worth refetching once. */
export function isAheadOf(message: Uint8Array, group: DmGroup): boolean {
  const header = privateMessageHeader(message);
  return header !== undefined && header.epoch > BigInt(group.epoch);
}

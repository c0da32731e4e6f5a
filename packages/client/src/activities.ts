import { randomUUID } from "node:crypto";
import { ACTIVITY_CONTEXT } from "@mimi/activitypub";
import { type MlsWireObject, toWireObject } from "@mimi/mls";

/**
 * The channel activities a client submits, exactly as docs/channels.md pins them down, and small
 * readers for the ones it receives. Pure: no I/O.
 */
export type Activity = Record<string, unknown>;

/** `<actor>/activities/<uuid>`: ids live under the submitting user's actor URL. */
export function newActivityId(actor: string): string {
  return `${actor}/activities/${randomUUID()}`;
}

export const followersOf = (channel: string) => `${channel}/followers`;

type Envelope = {
  "@context": typeof ACTIVITY_CONTEXT;
  id: string;
  type: string;
  actor: string;
  target: string;
  to: string[];
};

/** What every activity a member submits to `channel` starts with: addressed to its members, `target` the channel. */
export function channelEnvelope(actor: string, type: string, channel: string): Envelope {
  return {
    "@context": ACTIVITY_CONTEXT,
    id: newActivityId(actor),
    type,
    actor,
    target: channel,
    to: [followersOf(channel)],
  };
}

export function createChannelActivity(actor: string, channel: string, name: string, groupInfo: Uint8Array) {
  return {
    ...channelEnvelope(actor, "Create", channel),
    object: { type: "Service", id: channel, name },
    "mimi:groupInfo": toWireObject(groupInfo),
  };
}

export function messageActivity(actor: string, channel: string, privateMessage: Uint8Array) {
  return { ...channelEnvelope(actor, "Create", channel), object: toWireObject(privateMessage) };
}

export function addActivity(
  actor: string,
  channel: string,
  added: string,
  commit: { commit: Uint8Array; welcome?: Uint8Array; groupInfo: Uint8Array },
) {
  if (!commit.welcome) throw new Error("an Add needs a Welcome");
  return {
    ...channelEnvelope(actor, "Add", channel),
    object: added,
    "mimi:commit": toWireObject(commit.commit),
    "mimi:welcome": toWireObject(commit.welcome),
    "mimi:groupInfo": toWireObject(commit.groupInfo),
  };
}

export function removeActivity(
  actor: string,
  channel: string,
  removed: string,
  commit: { commit: Uint8Array; groupInfo: Uint8Array },
) {
  return {
    ...channelEnvelope(actor, "Remove", channel),
    object: removed,
    "mimi:commit": toWireObject(commit.commit),
    "mimi:groupInfo": toWireObject(commit.groupInfo),
  };
}

export function renameActivity(actor: string, channel: string, name: string) {
  return { ...channelEnvelope(actor, "Update", channel), object: { type: "Service", id: channel, name } };
}

/** The object type of a role change (an Update the channel's owner or an admin submits). */
export const ROLE_TYPE = "mimi:Role";

/** A role change (`admin` or `member`) for one member; only the owner and admins may submit it. */
export function roleActivity(actor: string, channel: string, member: string, role: "admin" | "member") {
  return {
    ...channelEnvelope(actor, "Update", channel),
    object: { type: ROLE_TYPE, "mimi:member": member, "mimi:role": role },
  };
}

/** The object type of a key update: a commit that only refreshes the submitter's own leaf (an UpdatePath). */
export const KEY_UPDATE_TYPE = "mimi:KeyUpdate";

/**
 * A key update: `Update{mimi:KeyUpdate}` whose `mimi:member` is the submitter, carrying a commit with
 * no proposals and an UpdatePath (post-compromise security, RFC 9420 section 12.4), and the new
 * epoch's GroupInfo.
 */
export function keyUpdateActivity(
  actor: string,
  channel: string,
  commit: { commit: Uint8Array; groupInfo: Uint8Array },
) {
  return {
    ...channelEnvelope(actor, "Update", channel),
    object: { type: KEY_UPDATE_TYPE, "mimi:member": actor },
    "mimi:commit": toWireObject(commit.commit),
    "mimi:groupInfo": toWireObject(commit.groupInfo),
  };
}

/** The id of a link-or-object value (`"https://..."` or `{ id: "https://..." }`). */
export function idOf(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null) {
    const id = (value as Record<string, unknown>).id;
    if (typeof id === "string") return id;
  }
  return undefined;
}

export function stringField(activity: Activity, field: string): string | undefined {
  const value = activity[field];
  return typeof value === "string" ? value : undefined;
}

export function numberField(activity: Activity, field: string): number | undefined {
  const value = activity[field];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

export function objectField(activity: Activity, field: string): Record<string, unknown> | undefined {
  const value = activity[field];
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The actor that submitted an activity, for display. */
export function actorIdOf(activity: Activity): string {
  return idOf(activity.actor) ?? "(unknown actor)";
}

/** The activities that carry a commit: adding, removing, and a member's key update. */
export type CommitType = "Add" | "Remove" | "Update";

/** What an entry of a channel (a forward, or an item of its log) asks of a member's client. */
export type ChannelEntry =
  | { kind: "commit"; type: CommitType }
  | { kind: "message" }
  | { kind: "created" }
  | { kind: "renamed"; name: string }
  | { kind: "role"; member: string; role: "admin" | "member" }
  | { kind: "unusable"; reason: string };

export function channelEntryOf(activity: Activity): ChannelEntry {
  const type = stringField(activity, "type");
  const object = objectField(activity, "object");
  if (type === "Add" || type === "Remove") return { kind: "commit", type };
  if (type === "Create" && object?.type === "PrivateMessage") return { kind: "message" };
  if (type === "Create" && object?.type === "Service") return { kind: "created" };
  if (type === "Update" && object?.type === "Service" && typeof object.name === "string")
    return { kind: "renamed", name: object.name };
  if (type === "Update" && object?.type === KEY_UPDATE_TYPE) return { kind: "commit", type: "Update" };
  if (type === "Update" && object?.type === ROLE_TYPE) {
    const member = stringField(object, "mimi:member");
    const role = stringField(object, "mimi:role");
    return member && (role === "admin" || role === "member")
      ? { kind: "role", member, role }
      : { kind: "unusable", reason: "a role change without a member or role" };
  }
  return { kind: "unusable", reason: `unhandled ${type ?? "typeless"} activity` };
}

export type { MlsWireObject };

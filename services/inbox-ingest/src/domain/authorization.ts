import { type ActivityEnvelope, actorIdOf } from "@mimi/activitypub";
import type { InboxTarget } from "./addressing.js";
import { referenceIds } from "./addressing.js";
import {
  type ChannelMembersRead,
  changesMembership,
  isAddressedToChannelFollowers,
} from "./channel-forwarding.js";

/** Who signed the delivery, as established by the HTTP signature. */
export interface InboxSigner {
  readonly keyId: string;
  /** The actor owning `keyId`. */
  readonly keyOwner: string;
}

export type InboxDenyReason =
  | "keyOwnerMismatch"
  | "activityIdOriginMismatch"
  | "notChannelMember"
  | "channelMembershipUnknown";

export type InboxAuthorization =
  | { readonly allow: true; readonly basis: "author" }
  | {
      readonly allow: true;
      /** Relayed by the channel `channel`, of which the actor is a member. */
      readonly basis: "channelForward";
      readonly channel: string;
      /**
       * The channel's members as read for this decision; undefined for a Remove whose collection this
       * provider may no longer read (then only the removed actor is told).
       */
      readonly members: readonly string[] | undefined;
    }
  | { readonly allow: false; readonly reason: InboxDenyReason; readonly detail: string };

export interface InboxAuthorizationPorts {
  /**
   * Reads a channel's members (its followers collection). `refresh` asks for a copy read now rather
   * than a cached one. Without it no forwarded activity can be authorized, so every delivery whose
   * signer is not its actor is denied. May throw when the read fails in a way that may pass.
   */
  readonly channelMembers?: (
    channelUrl: string,
    options: { readonly refresh: boolean },
  ) => Promise<ChannelMembersRead>;
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/**
 * Decides whether an authenticated inbox delivery may speak for its activity's actor
 * (PROTOCOL.md, transport rules; docs/channels.md, Receiving a forwarded activity):
 * - the activity's id must live on its actor's origin (ids are unique under their origin, and a
 *   sender cannot plant activities in another server's namespace);
 * - the signer is the actor: accepted;
 * - otherwise, at a user's or the shared inbox, the forwarding rule: the signer is a channel `C`
 *   whose followers collection `C/followers` is in the activity's `to`, and the actor is a member of
 *   `C`. Membership is read through `channelMembers`: an Add or Remove always reads it anew (it
 *   changes the membership), anything else reads it anew once when the actor is missing from a cached
 *   copy (a member added since). A member leaving (a Remove whose object is its actor) is no longer
 *   in the collection; the channel's signature vouches that it was. A Remove whose collection cannot
 *   be read any more is let through for its removed actor only.
 *   A channel's own inbox only takes activities signed by their actors.
 * Throws only when `channelMembers` throws (the caller answers that with a retryable error).
 */
export async function authorizeInboxDelivery(
  input: { readonly signer: InboxSigner; readonly activity: ActivityEnvelope; readonly target: InboxTarget },
  ports: InboxAuthorizationPorts = {},
): Promise<InboxAuthorization> {
  const { signer, activity, target } = input;
  const actor = actorIdOf(activity);
  if (originOf(activity.id) !== originOf(actor)) {
    return {
      allow: false,
      reason: "activityIdOriginMismatch",
      detail: `activity ${activity.id} is not on the origin of its actor ${actor}`,
    };
  }
  if (signer.keyOwner === actor) return { allow: true, basis: "author" };

  const mismatch: InboxAuthorization = {
    allow: false,
    reason: "keyOwnerMismatch",
    detail: `signed by ${signer.keyOwner} (key ${signer.keyId}), but the activity's actor is ${actor}`,
  };
  if (target.kind === "channel") return mismatch;
  const channel = signer.keyOwner;
  if (!isAddressedToChannelFollowers(channel, activity)) return mismatch;
  if (!ports.channelMembers) {
    return {
      allow: false,
      reason: "channelMembershipUnknown",
      detail: `${channel} forwards an activity of ${actor}, but this provider cannot check channel membership`,
    };
  }
  const membershipChange = changesMembership(activity);
  let read = await ports.channelMembers(channel, { refresh: membershipChange });
  if (read.readable && !read.fresh && !read.members.includes(actor)) {
    read = await ports.channelMembers(channel, { refresh: true });
  }
  const isRemove = activity.type === "Remove";
  if (!read.readable) {
    if (isRemove) return { allow: true, basis: "channelForward", channel, members: undefined };
    return {
      allow: false,
      reason: "channelMembershipUnknown",
      detail: `the members of ${channel} cannot be read: ${read.detail}`,
    };
  }
  const leaving = isRemove && referenceIds(activity.object).includes(actor);
  if (read.members.includes(actor) || leaving) {
    return { allow: true, basis: "channelForward", channel, members: read.members };
  }
  return {
    allow: false,
    reason: "notChannelMember",
    detail: `${actor} is not a member of ${channel}, which forwarded the activity`,
  };
}

import { type ActivityEnvelope, actorIdOf } from "@mimi/activitypub";
import type { InboxTarget } from "./addressing.js";
import { referenceIds } from "./addressing.js";
import {
  type ChannelMembersRead,
  changesMembership,
  isAddressedToChannelFollowers,
} from "./channel-forwarding.js";

/** Who signed the delivery, as established by the HTTP signature (its key is bound to its origin). */
export interface InboxSigner {
  readonly keyId: string;
  /** The actor owning `keyId`. */
  readonly keyOwner: string;
}

export type InboxDenyReason =
  | "keyOwnerMismatch"
  | "activityIdOriginMismatch"
  | "ambiguousTarget"
  | "notForwardedByChannel"
  | "channelActivityNotFromChannel"
  | "notChannelMember"
  | "channelMembershipUnknown";

export type InboxAuthorization =
  | { readonly allow: true; readonly basis: "author" }
  | {
      readonly allow: true;
      /** Relayed by the channel `channel`, of which the actor is a member. */
      readonly basis: "channelForward";
      readonly channel: string;
      /** The channel's members as read for this decision, from the channel's own server. */
      readonly members: readonly string[];
    }
  | { readonly allow: false; readonly reason: InboxDenyReason; readonly detail: string };

export interface InboxAuthorizationPorts {
  /**
   * Reads a channel's members (its followers collection, on the channel's origin). `refresh` asks for
   * a copy read now rather than a cached one. Without it no forwarded activity can be authorized, so
   * every delivery whose signer is not its actor is denied. May throw when the read fails in a way
   * that may pass.
   */
  readonly channelMembers?: (
    channelUrl: string,
    options: { readonly refresh: boolean },
  ) => Promise<ChannelMembersRead>;
  /** Whether `url` is one of this provider's channels (its actor URL). */
  readonly isLocalChannel?: (url: string) => boolean;
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/** `Delete{object: actor}` with no channel: an account's own deletion. */
function isDeleteOfActor(activity: ActivityEnvelope, actor: string): boolean {
  return (
    activity.type === "Delete" &&
    referenceIds(activity.object).length === 1 &&
    referenceIds(activity.object)[0] === actor &&
    referenceIds(activity.target).length === 0
  );
}

/** The instance actor of `actor`'s origin, where this provider and Mastodon serve it: `<origin>/actor`. */
function instanceActorOf(actor: string): string | undefined {
  const origin = originOf(actor);
  return origin === undefined ? undefined : `${origin}/actor`;
}

const deny = (reason: InboxDenyReason, detail: string): InboxAuthorization => ({
  allow: false,
  reason,
  detail,
});

/**
 * Decides whether an authenticated inbox delivery may speak for its activity's actor
 * (docs/trust-model.md). The signer's key is bound to its origin, so `signer.keyOwner` is an actor
 * of the server that signed.
 * - The activity's id must live on its actor's origin: ids are unique under their origin, and a
 *   sender cannot plant activities in another server's namespace.
 * - An activity naming a channel in `target` speaks about that channel. At a channel's own inbox
 *   the author submits it (the channel's sequencer checks membership and roles). Anywhere else only
 *   the channel itself may deliver it: the author's own copy is refused unless it is submitted to a
 *   channel of this provider through the shared inbox.
 * - A signer other than the actor is accepted only under the forwarding rule, at a user's or the
 *   shared inbox: the signer is the channel named in `target`, the activity is addressed to that
 *   channel's followers collection, and the actor is a member as read from that collection on the
 *   channel's own server (anew for Add and Remove, which change it; anew once when a cached copy
 *   misses the actor). A member leaving (a Remove whose object is its actor) is no longer listed; the
 *   channel's signature vouches that it was. A collection that cannot be read refuses the delivery.
 * Throws only when `channelMembers` throws (the caller answers that with a retryable error).
 */
export async function authorizeInboxDelivery(
  input: { readonly signer: InboxSigner; readonly activity: ActivityEnvelope; readonly target: InboxTarget },
  ports: InboxAuthorizationPorts = {},
): Promise<InboxAuthorization> {
  const { signer, activity, target } = input;
  const actor = actorIdOf(activity);
  if (originOf(activity.id) !== originOf(actor)) {
    return deny(
      "activityIdOriginMismatch",
      `activity ${activity.id} is not on the origin of its actor ${actor}`,
    );
  }
  const targets = referenceIds(activity.target);
  if (targets.length > 1) {
    return deny(
      "ambiguousTarget",
      `the activity names ${targets.length} targets; a channel activity names one`,
    );
  }
  const channel = targets[0];

  if (signer.keyOwner === actor) {
    if (channel === undefined || target.kind === "channel") return { allow: true, basis: "author" };
    if (channel === actor) return { allow: true, basis: "author" }; // a channel speaking for itself
    const submittedHere = target.kind === "shared" && ports.isLocalChannel?.(channel) === true;
    if (submittedHere) return { allow: true, basis: "author" };
    return deny(
      "channelActivityNotFromChannel",
      `an activity about ${channel} is accepted here only when that channel delivers it; submit it to the channel's inbox`,
    );
  }

  // An origin speaks for its own actors: once an account is deleted its key is gone with its actor
  // document (410), so the Delete of the actor may come signed by its origin's instance actor.
  if (isDeleteOfActor(activity, actor) && signer.keyOwner === instanceActorOf(actor)) {
    return { allow: true, basis: "author" };
  }

  const mismatch = deny(
    "keyOwnerMismatch",
    `signed by ${signer.keyOwner} (key ${signer.keyId}), but the activity's actor is ${actor}`,
  );
  if (target.kind === "channel") return mismatch;
  if (channel === undefined) return mismatch;
  if (channel !== signer.keyOwner) {
    return deny(
      "notForwardedByChannel",
      `signed by ${signer.keyOwner}, but only the channel the activity names (${channel}) may forward it`,
    );
  }
  if (!isAddressedToChannelFollowers(channel, activity)) {
    return deny(
      "notForwardedByChannel",
      `a forward of ${channel} must be addressed to its followers collection ${channel}/followers`,
    );
  }
  if (!ports.channelMembers) {
    return deny(
      "channelMembershipUnknown",
      `${channel} forwards an activity of ${actor}, but this provider cannot check channel membership`,
    );
  }
  let read = await ports.channelMembers(channel, { refresh: changesMembership(activity) });
  if (read.readable && !read.fresh && !read.members.includes(actor)) {
    read = await ports.channelMembers(channel, { refresh: true });
  }
  if (!read.readable) {
    return deny("channelMembershipUnknown", `the members of ${channel} cannot be read: ${read.detail}`);
  }
  // A Leave's actor stopped being a follower when the channel accepted it: the channel's signature
  // vouches that they were one (docs/channels.md, Leaving). So did the actor of a Delete of itself,
  // which the channel took as that account's departure.
  const leaving =
    (activity.type === "Remove" && referenceIds(activity.object).includes(actor)) ||
    (activity.type === "Leave" && referenceIds(activity.object).includes(channel)) ||
    (activity.type === "Delete" && referenceIds(activity.object).join() === actor);
  if (read.members.includes(actor) || leaving) {
    return { allow: true, basis: "channelForward", channel, members: read.members };
  }
  return deny("notChannelMember", `${actor} is not a member of ${channel}, which forwarded the activity`);
}

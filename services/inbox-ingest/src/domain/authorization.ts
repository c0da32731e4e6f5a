import { type ActivityEnvelope, actorIdOf } from "@mimi/activitypub";
import type { InboxTarget } from "./addressing.js";
import { referenceIds } from "./addressing.js";

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
  | {
      readonly allow: true;
      /** `author`: signed by the activity's actor. `channelForward`: relayed by a channel it belongs to. */
      readonly basis: "author" | "channelForward";
    }
  | { readonly allow: false; readonly reason: InboxDenyReason; readonly detail: string };

export interface InboxAuthorizationPorts {
  /**
   * Asks the channel whether `actor` is one of its members. Without it no forwarded activity can be
   * authorized, so every delivery whose signer is not its actor is denied.
   */
  readonly isChannelMember?: (channelUrl: string, actor: string) => Promise<boolean>;
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/** True when `url` is a resource below the actor's own URL (e.g. its followers collection). */
function isOwnedBy(url: string, owner: string): boolean {
  let ownerUrl: URL;
  let candidate: URL;
  try {
    ownerUrl = new URL(owner);
    candidate = new URL(url);
  } catch {
    return false;
  }
  const ownerPath = ownerUrl.pathname.replace(/\/+$/, "");
  return candidate.origin === ownerUrl.origin && candidate.pathname.startsWith(`${ownerPath}/`);
}

/**
 * Decides whether an authenticated inbox delivery may speak for its activity's actor
 * (PROTOCOL.md, transport rules):
 * - the activity's id must live on its actor's origin (ids are unique under their origin, and a
 *   sender cannot plant activities in another server's namespace);
 * - the signer is the actor: accepted;
 * - otherwise, at a user's or the shared inbox, the forwarding rule: the signer is a channel that owns
 *   a collection in the activity's `to`, and the actor is a member of that channel (asked through
 *   `isChannelMember`); a channel's own inbox only takes activities signed by their actors.
 * Throws only when `isChannelMember` throws (the caller answers that with a retryable error).
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
  const forwardedTo = referenceIds(activity.to).filter((address) => isOwnedBy(address, signer.keyOwner));
  if (forwardedTo.length === 0) return mismatch;
  if (!ports.isChannelMember) {
    return {
      allow: false,
      reason: "channelMembershipUnknown",
      detail: `${signer.keyOwner} forwards an activity of ${actor}, but this provider cannot check channel membership`,
    };
  }
  if (await ports.isChannelMember(signer.keyOwner, actor)) return { allow: true, basis: "channelForward" };
  return {
    allow: false,
    reason: "notChannelMember",
    detail: `${actor} is not a member of ${signer.keyOwner}, which forwarded the activity`,
  };
}

import { type ActivityEnvelope, actorIdOf, type ProviderUrls } from "@mimi/activitypub";
import { addressedLocalUsernames, type InboxTarget, localUsernameOf, targetKey } from "./addressing.js";
import { forwardRecipients, sharedInboxChannelOf } from "./channel-forwarding.js";

/** An inbox delivery the authorization rule let through, and on what basis. */
export type AuthorizedDelivery =
  | {
      /** The actor whose key signed the request. */
      readonly sender: string;
      readonly basis: "author";
    }
  | {
      /** The channel that signed the request, forwarding a member's activity. */
      readonly sender: string;
      readonly basis: "channelForward";
      /** The channel's members as read for the decision, from the channel's own server. */
      readonly members: readonly string[];
    };

/**
 * Where an authorized inbox delivery goes. Each carries the dedupe key's target: where the activity
 * counts as received.
 */
export type InboxRoute =
  /** An author's activity at a personal inbox: for the inbox owner, whatever the addressing says. */
  | { readonly kind: "owner"; readonly username: string; readonly dedupeTarget: string }
  /**
   * A channel's forward: for the local users among its members and the local object of an Add or
   * Remove (accounts not yet checked). Its key is the forward itself, wherever it arrives, so one
   * publication serves every local recipient.
   */
  | {
      readonly kind: "forward";
      readonly channel: string;
      readonly candidates: readonly string[];
      readonly dedupeTarget: string;
    }
  /** An author's activity at the shared inbox about no local channel: the local users it names. */
  | { readonly kind: "addressed"; readonly candidates: readonly string[]; readonly dedupeTarget: string }
  /** A submission to a local channel (existence not yet checked), for its sequencer. */
  | {
      readonly kind: "channel";
      readonly channelId: string;
      readonly via: "sharedInbox" | "channelInbox";
      readonly dedupeTarget: string;
    }
  | { readonly kind: "invalid"; readonly reason: "ambiguousChannel"; readonly detail: string };

/**
 * A channel's forward of a Leave also reaches the leaver (no longer among the members), so their other
 * devices learn that they left.
 */
function withLeaver(urls: ProviderUrls, activity: ActivityEnvelope, candidates: string[]): string[] {
  if (activity.type !== "Leave") return candidates;
  const leaver = localUsernameOf(urls, actorIdOf(activity));
  return leaver === undefined || candidates.includes(leaver) ? candidates : [...candidates, leaver];
}

/**
 * The route step's rule for the inboxes (README, Routes):
 * - a channel inbox: the channel's sequencer (the authorization rule admits only authors there);
 * - a channel's forward, at a personal or the shared inbox: its local recipients; the personal inbox
 *   it was POSTed to adds nobody, since a channel reaches only its members;
 * - an author's activity at a personal inbox: its owner;
 * - at the shared inbox: a submission to a local channel (other providers reach a channel through its
 *   `endpoints.sharedInbox`), else every local user named in an addressing field.
 */
export function routeInboxDelivery(
  urls: ProviderUrls,
  target: InboxTarget,
  delivery: AuthorizedDelivery,
  activity: ActivityEnvelope,
): InboxRoute {
  if (target.kind === "channel") {
    const { channelId } = target;
    return { kind: "channel", channelId, via: "channelInbox", dedupeTarget: targetKey(target) };
  }
  if (delivery.basis === "channelForward") {
    const channel = delivery.sender;
    return {
      kind: "forward",
      channel,
      candidates: withLeaver(urls, activity, forwardRecipients(urls, activity, delivery.members)),
      dedupeTarget: targetKey({ kind: "channelForward", channel }),
    };
  }
  if (target.kind === "user") {
    return { kind: "owner", username: target.username, dedupeTarget: targetKey(target) };
  }
  const channel = sharedInboxChannelOf(urls, activity);
  if (channel === undefined) {
    return {
      kind: "addressed",
      candidates: addressedLocalUsernames(urls, activity),
      dedupeTarget: targetKey(target),
    };
  }
  if ("ambiguous" in channel) {
    return {
      kind: "invalid",
      reason: "ambiguousChannel",
      detail: `the activity names several channels of this provider (${channel.ambiguous.join(", ")})`,
    };
  }
  const { channelId } = channel;
  return {
    kind: "channel",
    channelId,
    via: "sharedInbox",
    dedupeTarget: targetKey({ kind: "channel", channelId }),
  };
}

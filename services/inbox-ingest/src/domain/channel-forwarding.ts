import type { ProviderUrls } from "@mimi/activitypub";
import { addressesOf, localChannelIdOf, localUsernameOf, referenceIds } from "./addressing.js";

/**
 * A channel's members as read from its followers collection `F` (docs/channels.md). `readable: false`
 * means the channel's server refused or does not know the collection (for example because this
 * provider hosts none of its members any more); a failure that may pass is thrown instead.
 */
export type ChannelMembersRead =
  | {
      readonly readable: true;
      readonly members: readonly string[];
      /** True when the collection was fetched for this call rather than taken from a cache. */
      readonly fresh: boolean;
    }
  | { readonly readable: false; readonly detail: string };

/** `F = C + "/followers"`: the collection every channel activity is addressed to. */
export function channelFollowersUrl(channelUrl: string): string {
  return `${channelUrl.replace(/\/+$/, "")}/followers`;
}

/** True when the activity's `to` names the followers collection of `channelUrl`. */
export function isAddressedToChannelFollowers(
  channelUrl: string,
  activity: Record<string, unknown>,
): boolean {
  return referenceIds(activity.to).includes(channelFollowersUrl(channelUrl));
}

/** Add and Remove change the membership, so a cached member list is stale when one arrives. */
export function changesMembership(activity: { readonly type: string }): boolean {
  return activity.type === "Add" || activity.type === "Remove";
}

/**
 * The local users a channel's forwarded activity is for: the local users among the channel's
 * members, plus the local `object` of an Add or Remove (the added member gets its Welcome, the
 * removed one learns it was removed). Existence of the accounts is checked by the caller.
 */
export function forwardRecipients(
  urls: ProviderUrls,
  activity: Record<string, unknown> & { readonly type: string },
  members: readonly string[],
): string[] {
  const actors = [...members];
  if (changesMembership(activity)) actors.push(...referenceIds(activity.object));
  const names = actors.map((actor) => localUsernameOf(urls, actor));
  return [...new Set(names.filter((name): name is string => name !== undefined))];
}

/**
 * The local channel an author-signed activity at the shared inbox is submitted to: its `target`
 * names one of this provider's channels, or an addressing field names such a channel or its followers
 * collection.
 * A remote provider's delivery service reaches a channel through its `endpoints.sharedInbox`, so a
 * member's submission arrives here rather than at `C/inbox`. Undefined when it is about no local
 * channel; `ambiguous` when it names several.
 */
export function sharedInboxChannelOf(
  urls: ProviderUrls,
  activity: Record<string, unknown>,
): { readonly channelId: string } | { readonly ambiguous: readonly string[] } | undefined {
  const named = [...referenceIds(activity.target), ...addressesOf(activity)];
  const channelIds = [
    ...new Set(named.map((url) => localChannelIdOf(urls, url)).filter((id) => id !== undefined)),
  ];
  if (channelIds.length > 1) return { ambiguous: channelIds };
  const channelId = channelIds[0];
  return channelId === undefined ? undefined : { channelId };
}

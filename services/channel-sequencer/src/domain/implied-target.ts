import type { SubmissionKind } from "./submission.js";

/** How a submission reached the channel (the `channel.inbox` item's `via`). */
export type ReceivedVia = "outbox" | "inbox" | "sharedInbox" | "channelInbox";

/**
 * The kinds whose missing `target` the channel's own inbox supplies (docs/protocol.md 6.5).
 * Only a message: its MLS bytes name the channel's group, which the channel checks, so a message
 * POSTed to the wrong channel's inbox is refused all the same. A rename or role change carries
 * nothing else that names the channel, so `target` is what keeps one meant for another channel from
 * changing this one. Commits (Add, Remove, key updates) change membership and keys, and are forwarded
 * to providers that check them against `target`; they stay strict.
 */
const IMPLIED_BY_CHANNEL_INBOX: ReadonlySet<SubmissionKind> = new Set<SubmissionKind>(["message"]);

/** A `target` that names nothing: absent, null, or an empty array. A malformed one is not missing. */
function isMissing(target: unknown): boolean {
  return target === undefined || target === null || (Array.isArray(target) && target.length === 0);
}

/**
 * The activity as the channel checks, logs and forwards it. A member's message POSTed to the
 * channel's own inbox without `target` is about that channel (the inbox names it): the copy gets
 * `target` set to the channel and its followers collection added to `to`, since members' clients
 * and providers accept a channel's forward only with both. Anything else is returned as received,
 * so a missing or foreign `target` is refused by the channel's checks as before; at the shared inbox
 * or an outbox nothing but the activity names the channel.
 */
export function withTargetImpliedByInbox<T extends Readonly<Record<string, unknown>>>(
  activity: T,
  received: {
    readonly via: ReceivedVia;
    readonly kind: SubmissionKind;
    readonly channelUrl: string;
    readonly followersUrl: string;
  },
): T {
  if (received.via !== "channelInbox") return activity;
  if (!IMPLIED_BY_CHANNEL_INBOX.has(received.kind)) return activity;
  if (!isMissing(activity.target)) return activity;
  return { ...activity, target: received.channelUrl, to: withAddress(activity.to, received.followersUrl) };
}

/**
 * The activity with the channel's followers collection in `to`, when its `target` is the channel:
 * members' providers accept a channel's forward only when it is addressed to the followers
 * (docs/protocol.md 8.3), so a submission accepted without that address would be forwarded to
 * refusals, and its members would miss it. The channel addresses what it forwards instead of
 * refusing a submission for a missing address it can supply. Anything else is returned as received.
 */
export function withFollowersAddressed<T extends Readonly<Record<string, unknown>>>(
  activity: T,
  channel: { readonly channelUrl: string; readonly followersUrl: string },
): T {
  if (activity.target !== channel.channelUrl) return activity;
  const to = activity.to;
  if (Array.isArray(to) ? to.includes(channel.followersUrl) : to === channel.followersUrl) return activity;
  return { ...activity, to: withAddress(to, channel.followersUrl) };
}

/** `to` with `address` in it, as an array (`to` holds strings: the inbox refuses anything else). */
function withAddress(to: unknown, address: string): unknown[] {
  const existing = to === undefined || to === null ? [] : Array.isArray(to) ? [...to] : [to];
  return existing.includes(address) ? existing : [...existing, address];
}

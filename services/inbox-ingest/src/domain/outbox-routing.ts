import type { ProviderUrls } from "@mimi/activitypub";
import { addressesOf, isPublicAddress, localChannelIdOf, referenceIds } from "./addressing.js";

/**
 * Where an activity a local user POSTs to its outbox goes next:
 * - anything about one of this provider's channels (the channel or its followers collection named in
 *   `to`, `cc`, `target` or `object`: a message to the channel, Add/Remove/Update, a new channel) goes
 *   to that channel's sequencer, which checks membership and epochs and forwards it;
 * - everything else is delivered to its audience as the user (local recipients included: the fanout
 *   handles them).
 */
export type OutboxRoute =
  | { readonly kind: "channel"; readonly channelId: string }
  | {
      readonly kind: "delivery";
      /** to + cc + bto + bcc without the public collection. */
      readonly audience: string[];
      /** The activity as delivered: `bto` and `bcc` removed (ActivityPub 6.6). */
      readonly activity: Record<string, unknown>;
    }
  | { readonly kind: "invalid"; readonly reason: OutboxRoutingProblem; readonly detail: string };

export type OutboxRoutingProblem = "ambiguousChannel" | "newChannelWithoutId" | "noAudience";

export function routeOutboxActivity(urls: ProviderUrls, activity: Record<string, unknown>): OutboxRoute {
  const mentioned = [
    ...addressesOf(activity, ["to", "cc"]),
    ...referenceIds(activity.target),
    ...referenceIds(activity.object),
  ];
  const channelIds = [
    ...new Set(mentioned.map((url) => localChannelIdOf(urls, url)).filter((id) => id !== undefined)),
  ];
  if (channelIds.length > 1) {
    return {
      kind: "invalid",
      reason: "ambiguousChannel",
      detail: `the activity names several channels of this provider (${channelIds.join(", ")}); send one activity per channel`,
    };
  }
  const channelId = channelIds[0];
  if (channelId !== undefined) return { kind: "channel", channelId };

  // A new channel is created by its sequencer, so it must say which channel URL it asks for.
  if (activity.type === "Create" && isServiceObject(activity.object)) {
    return {
      kind: "invalid",
      reason: "newChannelWithoutId",
      detail: `a Create{Service} must carry the new channel's id, a URL under ${urls.channel("")}`,
    };
  }

  const audience = addressesOf(activity, ["to", "cc", "bto", "bcc"]).filter(
    (address) => !isPublicAddress(address),
  );
  if (audience.length === 0) {
    return { kind: "invalid", reason: "noAudience", detail: "the activity addresses nobody (to/cc/bto/bcc)" };
  }
  const { bto: _bto, bcc: _bcc, ...delivered } = activity;
  return { kind: "delivery", audience, activity: delivered };
}

function isServiceObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && "type" in value && value.type === "Service";
}

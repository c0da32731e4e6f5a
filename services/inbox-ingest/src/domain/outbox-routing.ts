import type { ProviderUrls } from "@mimi/activitypub";
import { addressesOf, isPublicAddress, localChannelIdOf, referenceIds } from "./addressing.js";
import { channelFollowersUrl } from "./channel-forwarding.js";

/**
 * Where an activity a local user POSTs to its outbox goes next (docs/channels.md, Addressing):
 * - anything about one of this provider's channels (the channel or its followers collection named in
 *   any addressing field (`to`, `cc`, `bto`, `bcc`, `audience`), `target` or `object`: a message to the
 *   channel, Add/Remove/Update, a new channel) goes
 *   to that channel's sequencer, which checks membership and epochs and forwards it. A new channel
 *   (`Create{Service}` whose `object.id` is a channel URL of this provider) goes there too although
 *   the channel does not exist yet: creating it is the sequencer's job;
 * - an activity "through" a remote channel (its `target` is a channel `C` and its `to` names
 *   `C/followers`) is delivered to `C` only: the channel forwards it to its followers, so the
 *   followers collection is never delivered to directly. The delivered activity keeps `to: [F]`;
 * - everything else is delivered to its audience as the user (local recipients included: the fanout
 *   handles them), except the user's `Delete` of their own actor (see `isDeleteOfSelf`), which is
 *   signed by the instance actor.
 */
export type OutboxRoute =
  | {
      readonly kind: "channel";
      readonly channelId: string;
      /**
       * A `Create{Service}`: the channel does not exist yet, so nobody checks that it does (the
       * sequencer refuses duplicate creations with a Reject). Any other activity must name an
       * existing channel, since the sequencer has nobody to answer for an unknown one.
       */
      readonly newChannel: boolean;
    }
  | {
      readonly kind: "delivery";
      /** to + cc + bto + bcc + audience without the public collection; only the channel for a remote channel. */
      readonly audience: string[];
      /** The activity as delivered: `bto` and `bcc` removed (ActivityPub 6.6). */
      readonly activity: Record<string, unknown>;
      /**
       * Whose key signs the deliveries: absent, the user's; the instance actor's for the Delete of the
       * user's own actor, since that account's key goes with it and the deliveries may be retried
       * after its actor document answers 410 (peers accept the origin's instance actor for it,
       * docs/trust-model.md).
       */
      readonly signer?: "instanceActor";
    }
  | { readonly kind: "invalid"; readonly reason: OutboxRoutingProblem; readonly detail: string };

export type OutboxRoutingProblem =
  | "ambiguousChannel"
  | "newChannelWithoutId"
  | "channelNotLocal"
  | "noAudience";

export function routeOutboxActivity(urls: ProviderUrls, activity: Record<string, unknown>): OutboxRoute {
  const { bto: _bto, bcc: _bcc, ...delivered } = activity;
  if (activity.type === "Create" && isServiceObject(activity.object)) {
    return routeNewChannel(urls, activity, activity.object);
  }

  // Every addressing field counts: a `bcc` naming a channel's followers must not slip past the
  // channel's membership check into a plain delivery.
  const mentioned = [
    ...addressesOf(activity),
    ...referenceIds(activity.target),
    ...referenceIds(activity.object),
  ];
  const channelIds = [
    ...new Set(mentioned.map((url) => localChannelIdOf(urls, url)).filter((id) => id !== undefined)),
  ];
  const remoteChannel = remoteChannelTarget(urls, activity);
  if (channelIds.length > 1 || (channelIds.length === 1 && remoteChannel !== undefined)) {
    const named = [...channelIds, ...(remoteChannel === undefined ? [] : [remoteChannel])];
    return {
      kind: "invalid",
      reason: "ambiguousChannel",
      detail: `the activity names several channels (${named.join(", ")}); send one activity per channel`,
    };
  }
  const channelId = channelIds[0];
  if (channelId !== undefined) return { kind: "channel", channelId, newChannel: false };
  if (remoteChannel !== undefined)
    return { kind: "delivery", audience: [remoteChannel], activity: delivered };

  const audience = addressesOf(activity).filter((address) => !isPublicAddress(address));
  if (audience.length === 0) {
    return {
      kind: "invalid",
      reason: "noAudience",
      detail: "the activity addresses nobody (to/cc/bto/bcc/audience)",
    };
  }
  if (isDeleteOfSelf(activity))
    return { kind: "delivery", audience, activity: delivered, signer: "instanceActor" };
  return { kind: "delivery", audience, activity: delivered };
}

/**
 * `Delete{object: actor}` naming no `target`: the user says their account is gone (the same shape
 * the inboxes accept from an origin's instance actor). Its actor is the submitting user: the outbox
 * authorization has checked that before routing.
 */
export function isDeleteOfSelf(activity: Record<string, unknown>): boolean {
  const objects = referenceIds(activity.object);
  const actors = referenceIds(activity.actor);
  return (
    activity.type === "Delete" &&
    actors.length === 1 &&
    objects.length === 1 &&
    objects[0] === actors[0] &&
    referenceIds(activity.target).length === 0
  );
}

/**
 * A new channel is created by its host's sequencer, so it must say which channel URL it asks for,
 * and only this provider's users create channels here (docs/channels.md: a Create{Service} is only
 * submitted by a user of the channel's own host).
 */
function routeNewChannel(
  urls: ProviderUrls,
  activity: Record<string, unknown>,
  service: Record<string, unknown>,
): OutboxRoute {
  const channelUrl = typeof service.id === "string" ? service.id : undefined;
  if (channelUrl === undefined) {
    return {
      kind: "invalid",
      reason: "newChannelWithoutId",
      detail: `a Create{Service} must carry the new channel's id, a URL under ${urls.channel("")}`,
    };
  }
  const channelId = localChannelIdOf(urls, channelUrl);
  if (channelId === undefined || urls.channel(channelId) !== channelUrl) {
    return {
      kind: "invalid",
      reason: "channelNotLocal",
      detail: `a channel is created on its own provider: ${channelUrl} is not a channel URL under ${urls.channel("")}`,
    };
  }
  const otherTarget = referenceIds(activity.target).filter((url) => url !== channelUrl);
  const otherLocalChannels = addressesOf(activity).filter((url) => {
    const named = localChannelIdOf(urls, url);
    return named !== undefined && named !== channelId;
  });
  const conflicts = [...otherTarget, ...otherLocalChannels];
  if (conflicts.length > 0) {
    return {
      kind: "invalid",
      reason: "ambiguousChannel",
      detail: `a Create{Service} for ${channelUrl} also names ${conflicts.join(", ")}`,
    };
  }
  return { kind: "channel", channelId, newChannel: true };
}

/** The remote channel an activity goes through: its single `target` `C`, with `C/followers` in `to`. */
function remoteChannelTarget(urls: ProviderUrls, activity: Record<string, unknown>): string | undefined {
  const targets = referenceIds(activity.target);
  const target = targets[0];
  if (targets.length !== 1 || target === undefined || localChannelIdOf(urls, target) !== undefined) {
    return undefined;
  }
  return referenceIds(activity.to).includes(channelFollowersUrl(target)) ? target : undefined;
}

function isServiceObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && "type" in value && value.type === "Service";
}

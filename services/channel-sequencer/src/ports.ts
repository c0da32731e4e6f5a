import type { ChannelSequencerContext } from "./context.js";
import { localChannelIdOf, localChannelIdOfFollowers } from "./domain/identifiers.js";

/** Whether this provider hosts the channel (inbox-ingest: accept deliveries to its inbox). */
export async function channelExists(ctx: ChannelSequencerContext, channelId: string): Promise<boolean> {
  return (await ctx.store.channel(channelId)) !== undefined;
}

/** Whether `actorUrl` follows (is a member of) the local channel `channelUrl`; false for other URLs. */
export async function isChannelFollower(
  ctx: ChannelSequencerContext,
  channelUrl: string,
  actorUrl: string,
): Promise<boolean> {
  const channelId = localChannelIdOf(ctx.urls, channelUrl);
  return channelId !== undefined && (await ctx.store.isFollower(channelId, actorUrl));
}

/**
 * The member actor URLs when `collectionUrl` is a local channel's followers collection (delivery-fanout
 * expands audiences with it); undefined for any other URL.
 */
export async function localFollowersOf(
  ctx: ChannelSequencerContext,
  collectionUrl: string,
): Promise<string[] | undefined> {
  const channelId = localChannelIdOfFollowers(ctx.urls, collectionUrl);
  return channelId === undefined ? undefined : ctx.store.followers(channelId);
}

export interface ChannelSequencerPorts {
  channelExists(channelId: string): Promise<boolean>;
  isChannelFollower(channelUrl: string, actorUrl: string): Promise<boolean>;
  /** The same as `isChannelFollower`, under the name inbox-ingest's ports use. */
  isChannelMember(channelUrl: string, actorUrl: string): Promise<boolean>;
  localFollowersOf(collectionUrl: string): Promise<string[] | undefined>;
}

/** The ports above bound to one context, ready to hand to inbox-ingest and delivery-fanout. */
export function channelSequencerPorts(ctx: ChannelSequencerContext): ChannelSequencerPorts {
  const follower = (channelUrl: string, actorUrl: string) => isChannelFollower(ctx, channelUrl, actorUrl);
  return {
    channelExists: (channelId) => channelExists(ctx, channelId),
    isChannelFollower: follower,
    isChannelMember: follower,
    localFollowersOf: (collectionUrl) => localFollowersOf(ctx, collectionUrl),
  };
}

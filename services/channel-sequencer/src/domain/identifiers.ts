import type { ProviderUrls } from "@mimi/activitypub";

/**
 * Channel ids are the base64url form (no padding) of the MLS group id the creating client picked
 * (docs/channels.md, Identifiers), so the client knows the channel URL before the server answers.
 */
const CHANNEL_ID = /^[A-Za-z0-9_-]{22,86}$/;
/** Group ids shorter than this carry too little randomness to be unguessable channel names. */
export const MIN_GROUP_ID_BYTES = 16;
export const MAX_GROUP_ID_BYTES = 64;

export function channelIdForGroupId(groupId: Uint8Array): string {
  return Buffer.from(groupId.buffer, groupId.byteOffset, groupId.length).toString("base64url");
}

export function isWellFormedChannelId(channelId: string): boolean {
  if (!CHANNEL_ID.test(channelId)) return false;
  const bytes = Buffer.from(channelId, "base64url");
  // Only the canonical encoding names a channel: one group id, one URL.
  return (
    bytes.length >= MIN_GROUP_ID_BYTES &&
    bytes.length <= MAX_GROUP_ID_BYTES &&
    bytes.toString("base64url") === channelId
  );
}

/** The single path segment after `prefix`, or undefined when `url` is not directly under it. */
function segmentAfter(url: string, prefix: string, suffix = ""): string | undefined {
  if (!url.startsWith(prefix) || !url.endsWith(suffix)) return undefined;
  const segment = url.slice(prefix.length, url.length - suffix.length);
  if (segment.length === 0 || /[/?#]/.test(segment)) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The id of this provider's channel named by `url` (the channel actor URL itself). */
export function localChannelIdOf(urls: ProviderUrls, url: string): string | undefined {
  return segmentAfter(url, urls.channel(""));
}

/** The id of the channel whose followers collection `url` is, when it is one of ours. */
export function localChannelIdOfFollowers(urls: ProviderUrls, url: string): string | undefined {
  const id = segmentAfter(url, urls.channel(""), "/followers");
  return id !== undefined && urls.channelFollowers(id) === url ? id : undefined;
}

/** The local username of an actor URL of this provider (`<base>/users/<name>`). */
export function localUsernameOf(urls: ProviderUrls, actorUrl: string): string | undefined {
  const username = segmentAfter(actorUrl, urls.actor(""));
  return username !== undefined && urls.actor(username) === actorUrl ? username : undefined;
}

export function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

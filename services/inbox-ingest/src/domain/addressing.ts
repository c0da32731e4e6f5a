import { isLocalUsername, type ProviderUrls, PUBLIC_COLLECTION } from "@mimi/activitypub";

/** The inbox a delivery was POSTed to. */
export type InboxTarget =
  | { readonly kind: "user"; readonly username: string }
  | { readonly kind: "channel"; readonly channelId: string }
  | { readonly kind: "shared" };

/** Where an activity was received, as stored in the dedupe key. */
export function targetKey(
  target:
    | InboxTarget
    | { readonly kind: "outbox"; readonly username: string }
    /** A channel's forward, wherever it arrived: one publication serves every local recipient. */
    | { readonly kind: "channelForward"; readonly channel: string },
): string {
  switch (target.kind) {
    case "user":
      return `user:${target.username}`;
    case "channel":
      return `channel:${target.channelId}`;
    case "shared":
      return "shared";
    case "outbox":
      return `outbox:${target.username}`;
    case "channelForward":
      return `forward:${target.channel}`;
  }
}

/** The spellings of the public collection that appear in the wild. */
const PUBLIC_ADDRESSES = new Set([PUBLIC_COLLECTION, "as:Public", "Public"]);

export function isPublicAddress(address: string): boolean {
  return PUBLIC_ADDRESSES.has(address);
}

/** Ids named by an ActivityStreams reference: a URI, an object with an `id`, or an array of those. */
export function referenceIds(value: unknown): string[] {
  const one = (entry: unknown): string[] => {
    if (typeof entry === "string") return [entry];
    if (typeof entry === "object" && entry !== null && "id" in entry && typeof entry.id === "string") {
      return [entry.id];
    }
    return [];
  };
  return Array.isArray(value) ? value.flatMap(one) : one(value);
}

/** Every field that addresses an activity; all of them are routed and checked alike. */
export const ADDRESSING_FIELDS = ["to", "cc", "bto", "bcc", "audience"] as const;
export type AddressingField = (typeof ADDRESSING_FIELDS)[number];

/** The addressing fields of an activity, in order, without duplicates. */
export function addressesOf(
  activity: Record<string, unknown>,
  fields: ReadonlyArray<AddressingField> = ADDRESSING_FIELDS,
): string[] {
  return [...new Set(fields.flatMap((field) => referenceIds(activity[field])))];
}

/** `alice` for this provider's `…/users/alice`; undefined for anything else. */
export function localUsernameOf(urls: ProviderUrls, url: string): string | undefined {
  const prefix = urls.actor("");
  if (!url.startsWith(prefix)) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(url.slice(prefix.length));
  } catch {
    return undefined;
  }
  // Only the canonical actor URL counts: not its inbox, followers, or a spelling with a fragment.
  if (!isLocalUsername(name) || urls.actor(name) !== url) return undefined;
  return name;
}

/** The channel id for this provider's channel actor URL or its followers collection. */
export function localChannelIdOf(urls: ProviderUrls, url: string): string | undefined {
  const prefix = urls.channel("");
  if (!url.startsWith(prefix)) return undefined;
  const rest = url.slice(prefix.length);
  const encodedId = rest.endsWith("/followers") ? rest.slice(0, -"/followers".length) : rest;
  if (encodedId.length === 0) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(encodedId);
  } catch {
    return undefined;
  }
  const canonical = urls.channel(id);
  return url === canonical || url === urls.channelFollowers(id) ? id : undefined;
}

/** True when `url` is exactly the actor URL of one of this provider's channels (existence aside). */
export function isLocalChannelUrl(urls: ProviderUrls, url: string): boolean {
  const id = localChannelIdOf(urls, url);
  return id !== undefined && urls.channel(id) === url;
}

/** Usernames of this provider named in any addressing field (existence is checked by the caller). */
export function addressedLocalUsernames(urls: ProviderUrls, activity: Record<string, unknown>): string[] {
  const names = addressesOf(activity).map((address) => localUsernameOf(urls, address));
  return [...new Set(names.filter((name): name is string => name !== undefined))];
}

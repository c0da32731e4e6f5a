import type { ProviderUrls } from "@mimi/activitypub";
import type { SignedGet } from "@mimi/http-signatures";
import { BoundedCache } from "@mimi/service-kit";
import { localChannelIdOf } from "../domain/addressing.js";
import { type ChannelMembersRead, channelFollowersUrl } from "../domain/channel-forwarding.js";
import { readCollectionPage } from "../domain/collection.js";

/** The members of a local channel (actor URLs); undefined when this provider has no such channel. */
export type LocalChannelFollowers = (channelId: string) => Promise<string[] | undefined>;

export interface ChannelMembershipOptions {
  urls: ProviderUrls;
  /** Local channels are asked directly (the channel sequencer provides it). */
  localChannelFollowers?: LocalChannelFollowers | undefined;
  /** Signed GETs as the instance actor, for remote channels' followers collections. */
  signedGet: SignedGet;
  /** How long a remote channel's member list is reused. */
  ttlMs: number;
  /** Pages followed per collection read (`first`, then `next`). */
  maxPages?: number;
  /** Members kept per channel; a longer collection is refused rather than cut. */
  maxMembers?: number;
  /** Channels whose member lists are kept (the least recently stored is dropped). */
  maxChannels?: number;
  now?: () => number;
}

export const DEFAULT_MEMBERSHIP_MAX_PAGES = 20;
export const DEFAULT_MEMBERSHIP_MAX_MEMBERS = 10_000;
export const DEFAULT_MEMBERSHIP_MAX_CHANNELS = 1_000;

/** Reads fail this way when they may pass later; the inbox answers 503 so the channel retries. */
export class MembershipReadError extends Error {}

interface CachedMembers {
  readonly members: readonly string[];
  readonly readAt: number;
}

/**
 * `channelMembers` for `authorizeInboxDelivery`: local channels through `localChannelFollowers`
 * (always current), remote channels by fetching `C/followers` signed as the instance actor, cached
 * per channel for `ttlMs`. `refresh` bypasses the cache; concurrent cached reads of one channel share
 * one fetch. A refused read (401/403/404/410, or an address the policy blocks) is `readable: false`;
 * anything else that goes wrong (unreachable, 5xx, malformed collection) throws `MembershipReadError`.
 */
export function createChannelMembership(
  options: ChannelMembershipOptions,
): (channelUrl: string, read: { readonly refresh: boolean }) => Promise<ChannelMembersRead> {
  const now = options.now ?? Date.now;
  const maxPages = options.maxPages ?? DEFAULT_MEMBERSHIP_MAX_PAGES;
  const maxMembers = options.maxMembers ?? DEFAULT_MEMBERSHIP_MAX_MEMBERS;
  // Ages are checked here, from when a read started, so entries carry no time-to-live of their own.
  const cache = new BoundedCache<string, CachedMembers>({
    maxEntries: options.maxChannels ?? DEFAULT_MEMBERSHIP_MAX_CHANNELS,
  });
  const inFlight = new Map<string, Promise<ChannelMembersRead>>();

  const remember = (channelUrl: string, members: readonly string[], readAt: number) => {
    // A slower read started before a refresh must not replace the refresh's answer.
    const known = cache.peek(channelUrl);
    if (known !== undefined && known.readAt > readAt) return;
    cache.set(channelUrl, { members, readAt });
  };

  const fetchMembers = async (channelUrl: string): Promise<ChannelMembersRead> => {
    const startedAt = now();
    const followersUrl = channelFollowersUrl(channelUrl);
    const origin = new URL(followersUrl).origin;
    const members: string[] = [];
    let next: { kind: "url"; url: string } | { kind: "embedded"; page: unknown } = {
      kind: "url",
      url: followersUrl,
    };
    for (let pages = 0; ; pages += 1) {
      if (pages >= maxPages) {
        throw new MembershipReadError(`${followersUrl} has more than ${maxPages} pages`);
      }
      let document: unknown;
      if (next.kind === "url") {
        // Pages stay on the channel's server: members are what the channel says, nobody else.
        if (new URL(next.url).origin !== origin) {
          throw new MembershipReadError(`a page of ${followersUrl} is on another origin (${next.url})`);
        }
        const answer = await options.signedGet(next.url);
        if (answer.kind === "status") {
          if (answer.permanent) {
            cache.delete(channelUrl); // what was read before no longer holds
            return { readable: false, detail: `${next.url} answered ${answer.status}` };
          }
          throw new MembershipReadError(`${next.url} answered ${answer.status}`);
        }
        if (answer.kind === "blocked") {
          cache.delete(channelUrl);
          return { readable: false, detail: answer.detail };
        }
        if (answer.kind === "failed") throw new MembershipReadError(answer.detail);
        document = answer.document;
      } else {
        document = next.page;
      }
      const page = readCollectionPage(document);
      if (!page.ok) throw new MembershipReadError(`${followersUrl}: ${page.detail}`);
      members.push(...page.items);
      if (members.length > maxMembers) {
        throw new MembershipReadError(`${followersUrl} lists more than ${maxMembers} members`);
      }
      if (page.continuation.kind === "none") break;
      next = page.continuation;
    }
    const unique = [...new Set(members)];
    remember(channelUrl, unique, startedAt);
    return { readable: true, members: unique, fresh: true };
  };

  const readRemote = (channelUrl: string): Promise<ChannelMembersRead> => {
    const running = inFlight.get(channelUrl);
    if (running) return running;
    const started = fetchMembers(channelUrl).finally(() => inFlight.delete(channelUrl));
    inFlight.set(channelUrl, started);
    return started;
  };

  return async (channelUrl, read) => {
    const localId = localChannelIdOf(options.urls, channelUrl);
    if (localId !== undefined && channelUrl === options.urls.channel(localId)) {
      if (!options.localChannelFollowers) {
        return { readable: false, detail: "local channel membership is not wired" };
      }
      const members = await options.localChannelFollowers(localId);
      return members === undefined
        ? { readable: false, detail: `no channel ${localId} on this provider` }
        : { readable: true, members, fresh: true };
    }
    const cached = cache.peek(channelUrl);
    if (!read.refresh && cached && now() - cached.readAt < options.ttlMs) {
      return { readable: true, members: cached.members, fresh: false };
    }
    if (!read.refresh) return readRemote(channelUrl);
    // A refresh must see the collection as it is now, so it does not join a read already under way
    // (that one may have been answered before the change the caller is checking for).
    return fetchMembers(channelUrl);
  };
}

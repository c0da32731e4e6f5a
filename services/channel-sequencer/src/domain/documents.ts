import { ACTIVITY_CONTEXT, type ProviderUrls } from "@mimi/activitypub";
import { type ActorPublicKeys, ASSERTION_METHOD_CONTEXTS, assertionMethodEntry } from "@mimi/actor-keys";
import { type RoleTable, rolesDocument } from "./roles.js";

/** What the channel documents are built from (a stored channel, without its MLS state). */
export interface ChannelSummary {
  readonly id: string;
  readonly name: string;
  readonly attributedTo: string;
  readonly ciphersuite: string;
  readonly epoch: number;
}

/** `GET C`: the channel actor (docs/channels.md, Reading a channel). */
export function serviceActorDocument(urls: ProviderUrls, channel: ChannelSummary, keys: ActorPublicKeys) {
  const id = urls.channel(channel.id);
  return {
    // The provider's context plus what FEP-521a's assertionMethod Multikey needs.
    "@context": [...ACTIVITY_CONTEXT, ...ASSERTION_METHOD_CONTEXTS],
    id,
    type: "Service",
    name: channel.name,
    attributedTo: channel.attributedTo,
    inbox: urls.channelInbox(channel.id),
    outbox: urls.channelOutbox(channel.id),
    followers: urls.channelFollowers(channel.id),
    endpoints: { sharedInbox: urls.sharedInbox },
    // RSA for draft-cavage (Mastodon); Ed25519 for RFC 9421.
    publicKey: { id: urls.keyId(id), owner: id, publicKeyPem: keys.publicKeyPem },
    assertionMethod: [assertionMethodEntry(id, keys.ed25519PublicKeyMultibase)],
    ciphersuite: channel.ciphersuite,
    "mimi:groupId": channel.id,
    "mimi:epoch": channel.epoch,
    "mimi:groupInfo": urls.channelGroupInfo(channel.id),
  };
}

/**
 * `GET F`: the members' actor URLs, and `mimi:roles` giving each of them their role (other providers
 * read `orderedItems` only).
 */
export function followersCollection(urls: ProviderUrls, channelId: string, roles: RoleTable) {
  const followers = [...roles.keys()];
  return {
    "@context": ACTIVITY_CONTEXT,
    id: urls.channelFollowers(channelId),
    type: "OrderedCollection",
    totalItems: followers.length,
    orderedItems: followers,
    "mimi:roles": rolesDocument(roles),
  };
}

/**
 * An accepted activity as the channel forwards it and its log serves it: as submitted, with
 * `mimi:sequence` set to its log sequence number (whatever the submitter put there).
 */
export function sequencedActivity<T extends Record<string, unknown>>(
  activity: T,
  sequence: number,
): T & { "mimi:sequence": number } {
  return { ...activity, "mimi:sequence": sequence };
}

/** `GET C/groupInfo`: the latest GroupInfo as a SWICG object, with its epoch. */
export function groupInfoDocument(
  urls: ProviderUrls,
  channelId: string,
  epoch: number,
  groupInfo: Uint8Array,
) {
  return {
    "@context": ACTIVITY_CONTEXT,
    id: urls.channelGroupInfo(channelId),
    type: "GroupInfo",
    mediaType: "message/mls",
    encoding: "base64",
    content: Buffer.from(groupInfo.buffer, groupInfo.byteOffset, groupInfo.length).toString("base64"),
    "mimi:epoch": epoch,
  };
}

export interface LogEntry {
  readonly sequence: number;
  readonly epoch: number;
  readonly activity: Record<string, unknown>;
}

/**
 * `GET C/log`: one page in log order; `next` is the following page, or null after the last entry.
 * Each item's activity is the forwarded copy: its `mimi:sequence` is the item's `sequence`.
 */
export function logPage(urls: ProviderUrls, channelId: string, entries: readonly LogEntry[], limit: number) {
  const last = entries.at(-1);
  return {
    items: entries.map((entry) => ({
      sequence: entry.sequence,
      epoch: entry.epoch,
      activity: sequencedActivity(entry.activity, entry.sequence),
    })),
    next:
      last !== undefined && entries.length >= limit
        ? `${urls.channelLog(channelId)}?after=${last.sequence}&limit=${limit}`
        : null,
  };
}

/** The channel's answer to an accepted activity. */
export function acceptActivity(input: {
  id: string;
  channelUrl: string;
  activityId: string;
  submitter: string;
  epoch: number;
  sequence: number;
}) {
  return {
    "@context": ACTIVITY_CONTEXT,
    id: input.id,
    type: "Accept",
    actor: input.channelUrl,
    object: input.activityId,
    "mimi:epoch": input.epoch,
    "mimi:sequence": input.sequence,
    to: [input.submitter],
  };
}

/**
 * The channel's answer to a refused activity. `currentEpoch` is absent only when the channel does not
 * exist (a refused Create), and then the provider's instance actor answers instead of the channel.
 */
export function rejectActivity(input: {
  id: string;
  actor: string;
  activityId: string;
  submitter: string;
  currentEpoch: number | undefined;
  summary: string;
}) {
  return {
    "@context": ACTIVITY_CONTEXT,
    id: input.id,
    type: "Reject",
    actor: input.actor,
    object: input.activityId,
    ...(input.currentEpoch === undefined ? {} : { "mimi:currentEpoch": input.currentEpoch }),
    summary: input.summary,
    to: [input.submitter],
  };
}

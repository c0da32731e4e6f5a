import { join } from "node:path";
import {
  acceptAnyCredential,
  decodeClientState,
  decodeMessage,
  encodeClientState,
  fromWireObject,
  groupEpoch,
  joinByExternalCommit,
  publicGroupFromGroupInfo,
  publicRoster,
  toWireObject,
} from "@mimi/mls";
import type { ChannelRecord } from "../account-store.js";
import {
  type Activity,
  type CommitType,
  channelEnvelope,
  idOf,
  numberField,
  stringField,
} from "../activities.js";
import { MimiApiError } from "../api.js";
import type { ChannelSummary, ClientEvent } from "../client-types.js";
import { type AccountContext, homeBase } from "../context.js";
import { ConversationSession } from "../conversation/session.js";
import { credentialNames } from "../credential-validation.js";
import { dmRosterRefusal } from "../dm/groups.js";
import { errorText, GroupRefused } from "../errors.js";
import { channelIdOfUrl, fromBase64, toBase64 } from "../mls-wire.js";
import { writeJsonAtomic } from "../state.js";
import type { ChannelOrder } from "../sync/channel-order-port.js";
import { learnFromLogEntry } from "../sync/join.js";
import type { DeviceKeys } from "./device-keys.js";

/**
 * A new device of a user joins the channels the user is already in, by external commit
 * (`Add{mimi:Device}`, docs/protocol.md 6.4.11): it reads the channel's log and latest GroupInfo
 * through its home server, commits itself into the group and waits for the channel's answer. The
 * channels come from the home server's list of its own channels the user is in, and from the mailbox:
 * every channel that delivered something to the user and of which this device holds nothing.
 * What waits for an answer, and what cannot be joined, lives in `device-joins.json`.
 */

/** The object type of a device joining or being removed (`Add{mimi:Device}`, `Remove{mimi:Device}`). */
export const DEVICE_TYPE = "mimi:Device";

/** A join is built again on the current epoch this many times when another commit wins the epoch. */
export const MAX_JOIN_ATTEMPTS = 3;

export interface PendingJoin {
  channelUrl: string;
  activityId: string;
  /** MLS state after the external commit, base64; adopted once the channel accepts it. */
  newState: string;
  newEpoch: number;
  name: string;
  actors: Record<string, string>;
  /** For a group DM's group: its participants, read from its Create in the log. */
  dm?: ChannelRecord["dm"];
  /** The last entry of the channel's log read before the commit. */
  logSequence: number;
  attempts: number;
  submittedAt: string;
}

export interface DeviceJoins {
  /** Whether the home server's list of the user's own channels was read once (a new device does it first). */
  listed: boolean;
  /** Channels seen in the mailbox or listed, to be joined. */
  candidates: string[];
  pending: PendingJoin[];
  /** Channels this device will not try again, with why (the user is not a member, a refusal). */
  refused: { channelUrl: string; reason: string; at: string }[];
  /** Remote channels this device reported to the home server, so the user's next device finds them. */
  remembered: string[];
}

/** At most this many channels are remembered as candidates or refusals. */
const MAX_REMEMBERED = 1_000;

/** Fresh lists each time: a shared empty record would carry one account's entries to the next. */
function noJoins(): DeviceJoins {
  return { listed: false, candidates: [], pending: [], refused: [], remembered: [] };
}

function joinsPath(ctx: AccountContext): string {
  return join(ctx.store.dir, "device-joins.json");
}

export async function loadJoins(ctx: AccountContext): Promise<DeviceJoins> {
  return { ...noJoins(), ...((await ctx.store.readJson<DeviceJoins>(joinsPath(ctx))) ?? {}) };
}

function saveJoins(ctx: AccountContext, joins: DeviceJoins): Promise<void> {
  return writeJsonAtomic(joinsPath(ctx), {
    ...joins,
    candidates: joins.candidates.slice(-MAX_REMEMBERED),
    refused: joins.refused.slice(-MAX_REMEMBERED),
    remembered: joins.remembered.slice(-MAX_REMEMBERED),
  });
}

/** Our join of `channelUrl` waiting for an answer, or the channel's refusal of this device. */
export async function joinStateOf(
  ctx: AccountContext,
  channelUrl: string,
): Promise<{ pending?: PendingJoin; refused?: string }> {
  const joins = await loadJoins(ctx);
  const pending = joins.pending.find((join) => join.channelUrl === channelUrl);
  const refused = joins.refused.find((refusal) => refusal.channelUrl === channelUrl)?.reason;
  return { ...(pending ? { pending } : {}), ...(refused !== undefined ? { refused } : {}) };
}

/**
 * Records a join submitted elsewhere (a rejoin of a channel whose state is lost, `sync/rejoin.ts`),
 * so the channel's answer settles it like any of ours. A refusal recorded before is forgotten.
 */
export async function addPendingJoin(ctx: AccountContext, pending: PendingJoin): Promise<void> {
  const joins = await loadJoins(ctx);
  joins.pending = [...joins.pending.filter((join) => join.channelUrl !== pending.channelUrl), pending];
  joins.refused = joins.refused.filter((refusal) => refusal.channelUrl !== pending.channelUrl);
  await saveJoins(ctx, joins);
}

/** Whether a channel activity is about a device (`Add{mimi:Device}` or `Remove{mimi:Device}`). */
export function isDeviceActivity(activity: Activity): boolean {
  const object = activity.object;
  return (
    typeof object === "object" && object !== null && (object as Record<string, unknown>).type === DEVICE_TYPE
  );
}

/** `Add{mimi:Device}`: this device joins `channel` by the external commit in `output`. */
export function deviceJoinActivity(
  actor: string,
  channel: string,
  output: { commit: Uint8Array; groupInfo: Uint8Array },
) {
  return deviceActivity("Add", actor, channel, output);
}

/** `Remove{mimi:Device}`: one of our devices takes our other devices' leaves out of `channel`. */
export function deviceRemoveActivity(
  actor: string,
  channel: string,
  output: { commit: Uint8Array; groupInfo: Uint8Array },
) {
  return deviceActivity("Remove", actor, channel, output);
}

function deviceActivity(
  type: "Add" | "Remove",
  actor: string,
  channel: string,
  output: { commit: Uint8Array; groupInfo: Uint8Array },
) {
  return {
    ...channelEnvelope(actor, type, channel),
    object: { type: DEVICE_TYPE, "mimi:member": actor },
    "mimi:commit": toWireObject(output.commit),
    "mimi:groupInfo": toWireObject(output.groupInfo),
  };
}

/**
 * Which channels to join, from what is known: the candidates this device holds nothing of, that wait
 * for no answer and were not refused. Pure.
 */
export function channelsToJoin(joins: DeviceJoins, held: ReadonlySet<string>): string[] {
  const waiting = new Set(joins.pending.map((pending) => pending.channelUrl));
  const refused = new Set(joins.refused.map((refusal) => refusal.channelUrl));
  return [...new Set(joins.candidates)].filter(
    (url) => !held.has(url) && !waiting.has(url) && !refused.has(url),
  );
}

/**
 * A channel delivered something and this device holds nothing of it: it is joined on the next round.
 * True unless the channel refused this device before: what it delivered until now was sent before the
 * device joins and is not for it, so it is passed over without a word.
 */
export async function noteChannelToJoin(ctx: AccountContext, channelUrl: string): Promise<boolean> {
  const joins = await loadJoins(ctx);
  if (joins.refused.some((refusal) => refusal.channelUrl === channelUrl)) return false;
  if (joins.candidates.includes(channelUrl)) return true;
  joins.candidates.push(channelUrl);
  await saveJoins(ctx, joins);
  return true;
}

/**
 * Joins every channel of the user this device holds nothing of: the first time, the home server's own
 * channels the user is in are listed as well. Failures become warnings and are tried again later,
 * except where the user is not a member (the channel says so): those are not tried again.
 */
export async function joinUserChannels(
  ctx: AccountContext,
  keys: DeviceKeys,
  events: ClientEvent[],
  warnings: string[],
): Promise<void> {
  const device = await keys.load();
  if (!device) return;
  const joins = await loadJoins(ctx);
  if (!joins.listed) {
    try {
      const listed = await ctx.api.myChannels();
      joins.candidates.push(...listed.channels.map((channel) => channel.id));
      joins.candidates.push(...(await rememberedRemoteChannels(ctx)));
      joins.listed = true;
      await saveJoins(ctx, joins);
    } catch (error) {
      // A home server that does not offer the list (4xx) has nothing to tell: the mailbox still does.
      if (error instanceof MimiApiError && error.status >= 400 && error.status < 500) {
        joins.listed = true;
        await saveJoins(ctx, joins);
      } else warnings.push(`the home server's channels could not be listed: ${errorText(error)}`);
    }
  }
  const records = await ctx.store.listChannels();
  await rememberRemoteChannels(ctx, joins, records, warnings);
  const held = new Set(records.map((record) => record.url));
  for (const channelUrl of channelsToJoin(joins, held)) {
    try {
      const pending = await submitJoin(ctx, keys, channelUrl, 1);
      joins.pending.push(pending);
      await saveJoins(ctx, joins);
    } catch (error) {
      if (
        (error instanceof MimiApiError && error.status >= 400 && error.status < 500) ||
        error instanceof GroupRefused
      ) {
        joins.refused.push({ channelUrl, reason: errorText(error), at: ctx.now().toISOString() });
        await saveJoins(ctx, joins);
        events.push({
          type: "skipped",
          activityId: channelUrl,
          reason: `cannot join ${channelUrl}: ${errorText(error)}`,
        });
      } else warnings.push(`joining ${channelUrl} failed for now: ${errorText(error)}`);
    }
  }
}

/** The remote channels the home server remembers for the user; none when it keeps no such list. */
async function rememberedRemoteChannels(ctx: AccountContext): Promise<string[]> {
  try {
    return (await ctx.api.rememberedChannels()).channels.map((channel) => channel.id);
  } catch (error) {
    if (error instanceof MimiApiError && error.status >= 400 && error.status < 500) return [];
    throw error;
  }
}

/**
 * Reports each active channel on another provider to the home server once (it checks with the
 * channel's server that the user is a member), so that the user's next device finds it even when the
 * channel delivered nothing within the mailbox's retention. A report that fails for now is retried on
 * the next sync; a refusal is not.
 */
async function rememberRemoteChannels(
  ctx: AccountContext,
  joins: DeviceJoins,
  records: readonly ChannelRecord[],
  warnings: string[],
): Promise<void> {
  const home = new URL(homeBase(ctx.account)).origin;
  const reported = new Set(joins.remembered);
  for (const record of records) {
    if (record.status !== "active" || reported.has(record.url) || new URL(record.url).origin === home)
      continue;
    try {
      await ctx.api.rememberChannel(record.url);
    } catch (error) {
      if (!(error instanceof MimiApiError && error.status >= 400 && error.status < 500)) {
        warnings.push(
          `${record.name}: could not be reported to the home server for now: ${errorText(error)}`,
        );
        continue;
      }
    }
    joins.remembered.push(record.url);
    await saveJoins(ctx, joins);
  }
}

/**
 * Reads the channel's log and GroupInfo, commits this device in and submits the join. When the group
 * still holds a leaf of this device (its signature key: a device whose state of the channel is lost),
 * the external commit is a resync that removes that old leaf (docs/protocol.md 6.4.11). `known` keeps
 * the name and actors a rejoin already had.
 */
export async function submitJoin(
  ctx: AccountContext,
  keys: DeviceKeys,
  channelUrl: string,
  attempt: number,
  known?: Pick<PendingJoin, "name" | "actors" | "dm">,
): Promise<PendingJoin> {
  const device = await keys.require();
  const record: ChannelRecord = {
    id: channelIdOfUrl(channelUrl) ?? channelUrl,
    url: channelUrl,
    name: known?.name ?? channelIdOfUrl(channelUrl) ?? channelUrl,
    status: "pending",
    epoch: 0,
    createdAt: ctx.now().toISOString(),
    actors: { ...(known?.actors ?? {}), [ctx.account.acct]: ctx.account.actor },
    ...(known?.dm ? { dm: known.dm } : {}),
    logSequence: 0,
    seen: [],
  };
  // The log first: the GroupInfo read after it is at least as new as the entries learned from.
  for (;;) {
    const page = await ctx.api.channelLog(channelUrl, record.logSequence);
    let advanced = false;
    for (const item of page.items) {
      if (item.sequence <= record.logSequence) continue;
      await learnFromLogEntry(record, item.activity);
      record.logSequence = item.sequence;
      advanced = true;
    }
    if (!advanced || page.next === null) break;
  }
  const document = await ctx.api.channelGroupInfo(channelUrl);
  const groupInfo = fromWireObject(document, "GroupInfo");
  if (!groupInfo.ok) throw new Error(`the channel's GroupInfo: ${groupInfo.detail}`);
  const leaf = await keys.ownLeaf(device);
  const resync = await holdsLeafOf(groupInfo.bytes, fromBase64(device.signaturePublicKey));
  const joined = await joinByExternalCommit({
    groupInfo: groupInfo.bytes,
    keyPackage: leaf.keyPackage,
    privateKeyPackage: leaf.privateKeyPackage,
    cipherSuite: ctx.cs,
    validateCredential: ctx.validateCredential,
    resync,
  });
  if (!joined.ok) throw new Error(`cannot join from the channel's GroupInfo: ${joined.detail}`);
  const refusal = dmRosterRefusal(record, joined.newState);
  if (refusal !== undefined) throw new GroupRefused(refusal);
  const activity = deviceJoinActivity(ctx.account.actor, channelUrl, joined);
  const pending: PendingJoin = {
    channelUrl,
    activityId: activity.id,
    newState: toBase64(encodeClientState(joined.newState)),
    newEpoch: Number(groupEpoch(joined.newState)),
    name: record.name,
    actors: record.actors,
    ...(record.dm ? { dm: record.dm } : {}),
    logSequence: record.logSequence,
    attempts: attempt,
    submittedAt: ctx.now().toISOString(),
  };
  await ctx.api.postActivity(ctx.account.username, activity);
  return pending;
}

/** Whether the group of `groupInfo` has a leaf with this signature key (one of this device's). */
async function holdsLeafOf(groupInfo: Uint8Array, signaturePublicKey: Uint8Array): Promise<boolean> {
  // Only the tree is read here; the join itself checks every credential.
  const group = await publicGroupFromGroupInfo(groupInfo, { validateCredential: acceptAnyCredential });
  if (!group.ok) throw new Error(`the channel's GroupInfo: ${group.detail}`);
  const own = Buffer.from(signaturePublicKey);
  return publicRoster(group.state).some((member) => own.equals(member.signaturePublicKey));
}

/**
 * The channel's answer to one of our joins (the delivery check made sure the channel sent it). Accept:
 * the conversation starts at the entry the Accept names, with the state the commit made. A Reject
 * for a lost epoch is built again on the current one. Returns false when the answer is not for a join.
 */
export async function settleDeviceJoin(
  order: ChannelOrder,
  ctx: AccountContext,
  keys: DeviceKeys,
  activity: Activity,
  type: "Accept" | "Reject",
  events: ClientEvent[],
): Promise<boolean> {
  const objectId = idOf(activity.object);
  const joins = await loadJoins(ctx);
  const pending = joins.pending.find((join) => join.activityId === objectId);
  if (!pending) return false;
  joins.pending = joins.pending.filter((join) => join !== pending);
  if (type === "Reject") {
    const reason = stringField(activity, "summary") ?? "no reason given";
    const lostEpoch = stringField(activity, "mimi:reason") === "staleEpoch";
    if (lostEpoch && pending.attempts < MAX_JOIN_ATTEMPTS) {
      try {
        joins.pending.push(await submitJoin(ctx, keys, pending.channelUrl, pending.attempts + 1, pending));
      } catch (error) {
        events.push({
          type: "skipped",
          activityId: pending.activityId,
          reason: `joining ${pending.name} again failed: ${errorText(error)}`,
        });
      }
    } else {
      joins.refused.push({ channelUrl: pending.channelUrl, reason, at: ctx.now().toISOString() });
      events.push({
        type: "skipped",
        activityId: pending.activityId,
        reason: `the channel refused this device: ${reason}`,
      });
    }
    await saveJoins(ctx, joins);
    return true;
  }
  const decoded = decodeClientState(fromBase64(pending.newState), ctx.validateCredential);
  if (!decoded.ok) throw new Error(`stored join state does not decode: ${decoded.detail}`);
  const sequence = numberField(activity, "mimi:sequence") ?? pending.logSequence;
  const session = new ConversationSession(ctx, {
    id: channelIdOfUrl(pending.channelUrl) ?? pending.channelUrl,
    url: pending.channelUrl,
    name: pending.name,
    status: "active",
    epoch: pending.newEpoch,
    createdAt: ctx.now().toISOString(),
    actors: pending.actors,
    ...(pending.dm ? { dm: pending.dm } : {}),
    logSequence: sequence,
    seen: [pending.activityId],
  });
  session.adopt(decoded.state);
  await session.save();
  await saveJoins(ctx, joins);
  events.push({ type: "joined", channel: session.summary(), by: ctx.account.actor });
  // Entries after ours that arrived before this answer found no conversation: the log has them.
  try {
    await order.catchUp(session, events);
  } catch {
    // The next entry to arrive fills the gap from the log as well.
  }
  return true;
}

/**
 * The channel's forward of one of our joins, from `channelUrl`: the channel forwards only what it
 * accepted, so it settles the join as its Accept would (should the Accept be late or lost). False
 * when the activity is not one of our joins.
 */
export async function settleJoinByForward(
  order: ChannelOrder,
  ctx: AccountContext,
  keys: DeviceKeys,
  channelUrl: string,
  activity: Activity,
  events: ClientEvent[],
): Promise<boolean> {
  const id = stringField(activity, "id");
  const pending = (await loadJoins(ctx)).pending.find((join) => join.activityId === id);
  if (!id || pending?.channelUrl !== channelUrl) return false;
  const sequence = numberField(activity, "mimi:sequence");
  const answer = { object: id, ...(sequence === undefined ? {} : { "mimi:sequence": sequence }) };
  return settleDeviceJoin(order, ctx, keys, answer, "Accept", events);
}

/** The acct whose client an external commit (a device join) brings in. */
export function joiningAcct(commitMessage: Uint8Array): string | undefined {
  const decoded = decodeMessage(commitMessage);
  if (!decoded.ok || decoded.message.wireformat !== "mls_public_message") return undefined;
  const content = decoded.message.publicMessage.content;
  if (content.contentType !== "commit" || content.commit.path === undefined) return undefined;
  return credentialNames(content.commit.path.leafNode.credential)?.acct;
}

/**
 * What a member's device change is shown as: a device joining is its user's client added (the acct
 * its credential names), a device taken out is one of the user's clients removed; the user stays.
 */
export function deviceChangeEvent(
  channel: ChannelSummary,
  type: CommitType,
  commitMessage: Uint8Array,
  by: string,
): ClientEvent {
  if (type === "Add") {
    const acct = joiningAcct(commitMessage);
    return { type: "member-added", channel, actor: by, accts: acct ? [acct] : [], by };
  }
  return { type: "member-removed", channel, actor: `a device of ${by}`, by };
}

import { randomBytes } from "node:crypto";
import {
  type ClientState,
  type CommitOutput,
  commit,
  createGroup,
  createGroupInfo,
  encodeClientState,
  fromWireObject,
  groupEpoch,
  type KeyPackage,
  type KeyPackageBundle,
  processIncoming,
  selfUpdate,
} from "@mimi/mls";
import type { ChannelRecord, PendingChange } from "../account-store.js";
import {
  type Activity,
  actorIdOf,
  addActivity,
  type CommitType,
  createChannelActivity,
  idOf,
  keyUpdateActivity,
  removeActivity,
  stringField,
} from "../activities.js";
import type { ClientEvent } from "../client-types.js";
import { type AccountContext, homeBase } from "../context.js";
import { deviceChangeEvent, isDeviceActivity } from "../device/channel-joins.js";
import { createDmGroupActivity } from "../dm/activities.js";
import { conversationKey } from "../dm/conversation.js";
import { dmRosterRefusal } from "../dm/groups.js";
import { acctsAddedBy, toBase64 } from "../mls-wire.js";
import { allowCredentialChange, ownLeafUpdate } from "./credential-update.js";
import { clientIdsIn, keyPackagesStillMissing, leavesOf } from "./roster.js";
import { ConversationSession } from "./session.js";

/**
 * A conversation's MLS commits: creating its group, building an Add or a Remove that waits as
 * `record.pending` until the channel answers (and rebuilding it after a lost race for the epoch),
 * and applying the commits the channel forwards.
 */

/** What applying one entry came to: "retry" when it must be tried again before any later entry. */
export type Applied = "done" | "retry";

/**
 * A new channel hosted by the home provider, with this device (`leaf`) as its only member, and the
 * `Create{Service}` that asks its server to accept it. Nothing is saved yet.
 */
export async function startChannel(
  ctx: AccountContext,
  leaf: KeyPackageBundle,
  name: string,
): Promise<{ session: ConversationSession; activity: Activity }> {
  return startGroup(ctx, leaf, (url, groupInfo) => ({
    activity: createChannelActivity(ctx.account.actor, url, name, groupInfo),
    name,
  }));
}

/**
 * A group DM's MLS group (docs/protocol.md section 14.3): a channel of kind DM hosted by the home
 * provider, this device alone at epoch 0, named by the conversation key. Nothing is saved yet.
 */
export async function startDmGroup(
  ctx: AccountContext,
  leaf: KeyPackageBundle,
  participants: readonly string[],
): Promise<{ session: ConversationSession; activity: Activity }> {
  const conversation = conversationKey(participants);
  const started = await startGroup(ctx, leaf, (url, groupInfo) => ({
    activity: createDmGroupActivity(ctx.account.actor, url, participants, groupInfo),
    name: conversation,
  }));
  started.session.record.dm = { participants: [...participants], conversation };
  return started;
}

async function startGroup(
  ctx: AccountContext,
  leaf: KeyPackageBundle,
  build: (url: string, groupInfo: Uint8Array) => { activity: Activity & { id: string }; name: string },
): Promise<{ session: ConversationSession; activity: Activity }> {
  const groupId = new Uint8Array(randomBytes(16));
  const id = Buffer.from(groupId).toString("base64url");
  const url = `${homeBase(ctx.account)}/channels/${id}`;
  const state = await createGroup({
    groupId,
    keyPackage: leaf.keyPackage,
    privateKeyPackage: leaf.privateKeyPackage,
    cipherSuite: ctx.cs,
    validateCredential: ctx.validateCredential,
  });
  const { activity, name } = build(url, await createGroupInfo(state, ctx.cs));
  const record: ChannelRecord = {
    id,
    url,
    name,
    status: "pending",
    epoch: 0,
    createdAt: ctx.now().toISOString(),
    createActivityId: activity.id,
    actors: { [ctx.account.acct]: ctx.account.actor },
    logSequence: 0,
    seen: [activity.id],
  };
  const session = new ConversationSession(ctx, record);
  session.adopt(state);
  return { session, activity };
}

/** Commits adding `acct`'s devices (`keyPackages`, claimed) and keeps the change pending. */
export async function proposeAdd(
  session: ConversationSession,
  change: { acct: string; actor: string; keyPackages: { keyPackage: KeyPackage; bytes: string }[] },
): Promise<Activity> {
  const output = await commit(session.state(), session.ctx.cs, {
    add: change.keyPackages.map((k) => k.keyPackage),
  });
  const activity = addActivity(session.ctx.account.actor, session.record.url, change.actor, output);
  session.record.pending = {
    activityId: activity.id,
    kind: "add",
    acct: change.acct,
    actor: change.actor,
    keyPackages: change.keyPackages.map((k) => k.bytes),
    ...preparedState(output.newState),
    attempts: 1,
    submittedAt: session.ctx.now().toISOString(),
  };
  return activity;
}

/** Commits removing the `leaves` of `acct` and keeps the change pending. */
export async function proposeRemove(
  session: ConversationSession,
  change: { acct: string; actor: string; leaves: number[] },
): Promise<Activity> {
  const output = await commit(session.state(), session.ctx.cs, { remove: change.leaves });
  const activity = removeActivity(session.ctx.account.actor, session.record.url, change.actor, output);
  session.record.pending = {
    activityId: activity.id,
    kind: "remove",
    acct: change.acct,
    actor: change.actor,
    keyPackages: [],
    ...preparedState(output.newState),
    attempts: 1,
    submittedAt: session.ctx.now().toISOString(),
  };
  return activity;
}

/**
 * Commits a key update of our own leaf (no proposals, a fresh UpdatePath) and keeps it pending: once
 * the channel accepts it, keys of earlier epochs no longer open anything of ours.
 */
export async function proposeKeyUpdate(session: ConversationSession): Promise<Activity> {
  const { ctx, record } = session;
  // After a renewal the new leaf also carries the device's new credential.
  const output = await selfUpdate(session.state(), ctx.cs, await ownLeafUpdate(ctx, session.state()));
  const activity = keyUpdateActivity(ctx.account.actor, record.url, output);
  record.pending = {
    activityId: activity.id,
    kind: "update",
    acct: ctx.account.acct,
    actor: ctx.account.actor,
    keyPackages: [],
    ...preparedState(output.newState),
    attempts: 1,
    submittedAt: ctx.now().toISOString(),
  };
  return activity;
}

/**
 * The same change as the rejected `pending`, built on the current epoch and kept pending as one more
 * attempt. An Add reuses the claimed KeyPackages and skips devices already in the group. Undefined
 * when someone else already made the change: nothing is left to do.
 */
export async function rebuildChange(
  session: ConversationSession,
  pending: PendingChange,
): Promise<Activity | undefined> {
  const { ctx, record } = session;
  const state = session.state();
  let output: CommitOutput | undefined;
  let activity: (Activity & { id: string }) | undefined;
  if (pending.kind === "update") {
    // A key update is as good on any epoch: commit a fresh one.
    output = await selfUpdate(state, ctx.cs, await ownLeafUpdate(ctx, state));
    activity = keyUpdateActivity(ctx.account.actor, record.url, output);
  } else if (pending.kind === "add") {
    const keyPackages = keyPackagesStillMissing(pending.keyPackages, clientIdsIn(state));
    if (keyPackages.length > 0) {
      output = await commit(state, ctx.cs, { add: keyPackages });
      activity = addActivity(ctx.account.actor, record.url, pending.actor, output);
    }
  } else {
    const leaves = leavesOf(state, pending.acct);
    if (leaves.length > 0) {
      output = await commit(state, ctx.cs, { remove: leaves });
      activity = removeActivity(ctx.account.actor, record.url, pending.actor, output);
    }
  }
  if (!output || !activity) return undefined;
  record.pending = {
    ...pending,
    activityId: activity.id,
    ...preparedState(output.newState),
    attempts: pending.attempts + 1,
    submittedAt: ctx.now().toISOString(),
  };
  return activity;
}

function preparedState(state: ClientState): Pick<PendingChange, "newState" | "newEpoch"> {
  return { newState: toBase64(encodeClientState(state)), newEpoch: Number(groupEpoch(state)) };
}

/**
 * Applies an Add or Remove the channel forwarded (from the mailbox or its log). The channel forwards
 * only what it accepted, so our own pending commit coming back means it won. "behind" (only when
 * `mayCatchUp`) when the commit is for a later epoch: nothing changed, the log has the commits we
 * missed; after catching up, apply it again with `mayCatchUp` false.
 */
export async function applyCommit(
  session: ConversationSession,
  activity: Activity,
  type: CommitType,
  events: ClientEvent[],
  mayCatchUp: false,
): Promise<Applied>;
export async function applyCommit(
  session: ConversationSession,
  activity: Activity,
  type: CommitType,
  events: ClientEvent[],
  mayCatchUp: boolean,
): Promise<Applied | "behind">;
export async function applyCommit(
  session: ConversationSession,
  activity: Activity,
  type: CommitType,
  events: ClientEvent[],
  mayCatchUp: boolean,
): Promise<Applied | "behind"> {
  const { ctx, record } = session;
  const id = stringField(activity, "id") as string;
  if (!session.active) return "done";
  if (record.pending?.activityId === id) {
    await session.mergePending(events);
    return "done";
  }
  const object = idOf(activity.object) ?? "";
  const by = actorIdOf(activity);
  const wire = fromWireObject(activity["mimi:commit"], "PublicMessage");
  if (!wire.ok) {
    events.push(session.skipped(id, `bad commit: ${wire.detail}`));
    return "done";
  }
  // A leaf's credential changes only for a renewal by that leaf's own client.
  const processed = await processIncoming(session.state(), ctx.cs, wire.bytes, { allowCredentialChange });
  if (!processed.ok && processed.reason === "futureEpoch" && mayCatchUp) return "behind";
  if (!processed.ok) {
    // An older epoch: already applied (our own commit, or applied during a catch-up).
    if (processed.reason === "staleEpoch") {
      session.backInSync(id);
      return "done";
    }
    // Nothing is deleted for a commit that does not verify here (a credential check may fail
    // while another provider is unreachable): it is tried again, and the user is told, on every
    // attempt and in the channel's summary until it applies.
    const why = `cannot apply the ${type} commit yet (${processed.reason}: ${processed.detail})`;
    session.markOutOfSync(why, id);
    events.push(session.skipped(id, `${why}; it will be tried again`));
    return "retry";
  }
  session.backInSync(id);
  if (processed.kind !== "commit") return "done";
  // Only a commit that verified may take us out of the group.
  if (processed.removedFromGroup) {
    session.markLeft(by, events);
    return "done";
  }
  // A group DM's members are its participants' devices only (section 14.8), whatever its host accepted.
  const refusal = dmRosterRefusal(record, processed.newState);
  if (refusal !== undefined) {
    session.abandon(id, refusal, events);
    return "done";
  }
  session.adopt(processed.newState);
  // A member's own device joined (an external commit) or was taken out: the members stay.
  if (isDeviceActivity(activity)) {
    events.push(deviceChangeEvent(session.summary(), type, wire.bytes, by));
    return "done";
  }
  if (type === "Add") {
    const accts = acctsAddedBy(wire.bytes);
    for (const acct of accts) record.actors[acct] = object;
    events.push({ type: "member-added", channel: session.summary(), actor: object, accts, by });
  } else if (type === "Remove") {
    events.push({ type: "member-removed", channel: session.summary(), actor: object, by });
  } else {
    events.push({ type: "keys-updated", channel: session.summary(), by });
  }
  return "done";
}

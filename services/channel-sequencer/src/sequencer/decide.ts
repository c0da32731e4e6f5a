import type { ActivityEnvelope } from "@mimi/activitypub";
import {
  applyCommit,
  checkGroupInfoMatches,
  encodePublicGroupState,
  inspectCommit,
  inspectPrivateMessage,
  publicGroupFromGroupInfo,
  publicRoster,
} from "@mimi/mls";
import type { ChannelInboxItem } from "@mimi/topics";
import type { CredentialAuthority } from "../adapters/credential-authority.js";
import type { ChannelSequencerContext } from "../context.js";
import { channelIdForGroupId, isWellFormedChannelId, localUsernameOf } from "../domain/identifiers.js";
import { pendingDepartureRefusal, removalBasis } from "../domain/leave.js";
import { messageRateRefusal, messageSizeRefusal } from "../domain/message-limits.js";
import { checkAssignableRole, checkPermission } from "../domain/roles.js";
import {
  type ChannelMember,
  checkChannelName,
  checkMessageEpoch,
  followersOf,
  isFollower,
  planMembershipChange,
} from "../domain/rules.js";
import { referenceId, type Submission } from "../domain/submission.js";
import { decideAccountDeleted } from "./decide-account-deleted.js";
import { addBlockRefusal } from "./decide-blocks.js";
import { decideDevice } from "./decide-device.js";
import {
  decideDmCreate,
  dmAddDecision,
  dmFixedDecision,
  dmParticipantsOf,
  dmRemoveDecision,
} from "./decide-dm.js";
import { decideKeyUpdate } from "./decide-key-update.js";
import { decideLeave } from "./decide-leave.js";
import { type Decision, TransientFailure } from "./decision.js";
import { memberRatesOf, messageLimitsOf } from "./member-rates.js";
import type { PermissionCheck, StoredChannel } from "./store.js";
import { trackingValidator, unwrap } from "./submitted-mls.js";

const reject = (summary: string, reason?: string): Decision =>
  reason === undefined ? { kind: "reject", summary } : { kind: "reject", summary, reason };

/**
 * The role rule against the channel's current roles: undefined when allowed, else the Reject. Checked
 * before any MLS work, so a member without the role cannot make the server verify commits.
 */
async function refusal(
  ctx: ChannelSequencerContext,
  channelId: string,
  permission: PermissionCheck,
): Promise<Decision | undefined> {
  const roles = await ctx.store.roles(channelId);
  if (roles === undefined) return { kind: "drop", reason: `no channel ${channelId}` };
  const check = checkPermission(roles, permission.submitter, permission.action);
  return check.ok ? undefined : reject(check.summary);
}

async function acctOf(
  ctx: ChannelSequencerContext,
  credential: Parameters<CredentialAuthority["identify"]>[0],
) {
  const check = await ctx.credentials.identify(credential);
  if (!check.ok && check.transient) throw new TransientFailure(check.detail);
  return check;
}

async function actorOfAcct(ctx: ChannelSequencerContext, acct: string): Promise<string | undefined> {
  try {
    return await ctx.resolveAcct(acct);
  } catch (error) {
    throw new TransientFailure(error instanceof Error ? error.message : String(error));
  }
}

/**
 * Applies the rules of docs/channels.md ("What the channel's server checks") to one submission.
 * `channel` is the stored channel, undefined when none has this id.
 */
export async function decide(
  ctx: ChannelSequencerContext,
  item: ChannelInboxItem,
  activity: ActivityEnvelope,
  submission: Submission,
  channel: StoredChannel | undefined,
): Promise<Decision> {
  const channelUrl = ctx.urls.channel(item.channelId);
  const submitter = item.authenticatedActor;
  if (submission.kind === "create") return decideCreate(ctx, item, activity, submission, channel);
  if (channel === undefined) return { kind: "drop", reason: `no channel ${item.channelId}` };
  if (submission.kind === "unsupported")
    return reject(`the channel does not handle ${submission.description}`);
  // A DM group takes no name, roles or departures: its participants are fixed.
  if (submission.kind === "rename" || submission.kind === "role" || submission.kind === "leave") {
    const fixed = await dmFixedDecision(ctx, channel, submission.kind);
    if (fixed) return fixed;
  }
  // Every refusal of a key update carries a mimi:reason, so it is decided whole on its own.
  if (submission.kind === "keyUpdate") return decideKeyUpdate(ctx, item, activity, submission, channel);
  // So does a device joining or being removed.
  if (submission.kind === "deviceJoin" || submission.kind === "deviceRemove")
    return decideDevice(ctx, item, activity, submission, channel);
  // So does a Leave (every refusal with its mimi:reason).
  if (submission.kind === "leave") return decideLeave(ctx, item, activity, submission, channel);
  if (submission.kind === "accountDeleted")
    return decideAccountDeleted(ctx, item, activity, submission, channel);
  if (referenceId(activity.target) !== channelUrl)
    return reject(`the activity's target must be ${channelUrl}`);
  if (!isFollower(channel.members, submitter)) return reject(`${submitter} is not a member of the channel`);

  switch (submission.kind) {
    case "rename": {
      if (submission.objectId !== channelUrl) return reject(`the Service object's id must be ${channelUrl}`);
      const permission: PermissionCheck = { submitter, action: { kind: "rename" } };
      const refused = await refusal(ctx, item.channelId, permission);
      if (refused) return refused;
      const name = checkChannelName(submission.name);
      if (!name.ok) return reject(name.summary);
      return { kind: "accept", change: { kind: "rename", submitter, name: name.name, permission } };
    }
    case "role": {
      const member = submission.member;
      if (member === undefined) {
        return reject("the mimi:Role object needs mimi:member, the actor URL of a member");
      }
      const role = checkAssignableRole(submission.role);
      if (!role.ok) return reject(role.summary);
      const permission: PermissionCheck = {
        submitter,
        action: { kind: "setRole", member, role: role.role },
      };
      const refused = await refusal(ctx, item.channelId, permission);
      if (refused) return refused;
      return { kind: "accept", change: { kind: "role", member, role: role.role, permission } };
    }
    case "message": {
      const message = unwrap(submission.message, "PrivateMessage", "object");
      if (!message.ok) return reject(message.summary);
      // Size and rate before any MLS work: a flood costs the server a counter, not a parse.
      const limits = messageLimitsOf(ctx.settings);
      const tooLarge = messageSizeRefusal(message.bytes.byteLength, limits);
      if (tooLarge !== undefined) return reject(tooLarge);
      const rate = memberRatesOf(ctx).take(item.channelId, submitter, ctx.now().getTime());
      if (!rate.ok) return reject(messageRateRefusal(submitter, rate.retryAfterMs, limits));
      const header = inspectPrivateMessage(channel.publicState, message.bytes);
      if (!header.ok) return reject(`${header.reason}: ${header.detail}`);
      const window = ctx.settings.epochWindow;
      const inWindow = checkMessageEpoch(Number(header.epoch), channel.epoch, window);
      if (!inWindow.ok) return reject(inWindow.summary);
      return {
        kind: "accept",
        change: { kind: "message", submitter, messageEpoch: Number(header.epoch), window },
      };
    }
    case "add":
    case "remove":
      return decideCommit(ctx, item.channelId, submitter, submission, channel);
  }
}

async function decideCreate(
  ctx: ChannelSequencerContext,
  item: ChannelInboxItem,
  activity: ActivityEnvelope,
  submission: Extract<Submission, { kind: "create" }>,
  channel: StoredChannel | undefined,
): Promise<Decision> {
  if (submission.dm !== undefined) {
    const named = (channelSubmission: typeof submission) =>
      decideCreate(ctx, item, activity, channelSubmission, channel);
    return decideDmCreate({ ...submission, dm: submission.dm }, named, ctx.settings.dmMaxParticipants);
  }
  const channelUrl = ctx.urls.channel(item.channelId);
  const creator = item.authenticatedActor;
  if (channel !== undefined) return reject(`the channel id ${item.channelId} is already in use`);
  if (item.via !== "outbox" || localUsernameOf(ctx.urls, creator) === undefined) {
    return reject("a channel is created by a user of its host, through their outbox");
  }
  if (!isWellFormedChannelId(item.channelId)) {
    return reject("the channel id must be the base64url (unpadded) form of a 16-64 byte MLS group id");
  }
  if (submission.objectId !== channelUrl) return reject(`the Service object's id must be ${channelUrl}`);
  if (referenceId(activity.target) !== channelUrl)
    return reject(`the activity's target must be ${channelUrl}`);
  if (submission.carriesCommit) {
    return reject("create the channel with its creator alone, then add members with Add");
  }
  const name = checkChannelName(submission.name);
  if (!name.ok) return reject(name.summary);
  const groupInfo = unwrap(submission.groupInfo, "GroupInfo", "mimi:groupInfo");
  if (!groupInfo.ok) return reject(groupInfo.summary);

  const validator = trackingValidator(ctx.credentials);
  const started = await publicGroupFromGroupInfo(groupInfo.bytes, { validateCredential: validator.validate });
  if (!started.ok) {
    validator.throwIfTransient();
    return reject(`mimi:groupInfo: ${started.reason}: ${started.detail}`);
  }
  const { state, signer } = started;
  if (state.epoch !== 0n)
    return reject(`the GroupInfo is for epoch ${state.epoch}, a new channel starts at 0`);
  if (channelIdForGroupId(state.groupId) !== item.channelId) {
    return reject("the GroupInfo's group id is not the one the channel URL names");
  }
  const roster = publicRoster(state);
  if (roster.length !== 1 || roster[0]?.leafIndex !== signer.leafIndex) {
    return reject("a new channel's group holds its creator's client alone");
  }
  const identified = await acctOf(ctx, signer.credential);
  if (!identified.ok) return reject(`the creator's credential: ${identified.detail}`);
  const actorUrl = await actorOfAcct(ctx, identified.acct);
  if (actorUrl !== creator)
    return reject(`the GroupInfo's credential (${identified.acct}) does not name ${creator}`);
  return {
    kind: "accept",
    change: {
      kind: "create",
      name: name.name,
      attributedTo: creator,
      ciphersuite: state.cipherSuite,
      publicState: encodePublicGroupState(state),
      groupInfo: groupInfo.bytes,
      members: [{ leafIndex: signer.leafIndex, actorUrl: creator, acct: identified.acct }],
    },
  };
}

async function decideCommit(
  ctx: ChannelSequencerContext,
  channelId: string,
  submitter: string,
  submission: Extract<Submission, { kind: "add" | "remove" }>,
  channel: StoredChannel,
): Promise<Decision> {
  const object = submission.object;
  if (object === undefined) return reject("the activity's object must be the actor to add or remove");
  const dmParticipants = await dmParticipantsOf(ctx, channel);
  if (submission.kind === "remove") {
    const refused = dmRemoveDecision(dmParticipants, object);
    if (refused) return refused;
  }
  if (submission.kind === "add") {
    const departing = pendingDepartureRefusal(channel.departed, object);
    if (departing !== undefined) return reject(departing);
    const blocked = await addBlockRefusal(ctx, object);
    if (blocked !== undefined) return reject(blocked.summary, blocked.reason);
  }
  // The Remove of a member who left carries out their own wish: any current member may commit it.
  const basis =
    submission.kind === "remove" ? removalBasis(channel.members, channel.departed, object) : undefined;
  const permission: PermissionCheck = basis?.completesDeparture
    ? { submitter, action: { kind: "message" } }
    : { submitter, action: { kind: submission.kind, object } };
  const refused = await refusal(ctx, channelId, permission);
  if (refused) return refused;
  const commit = unwrap(submission.commit, "PublicMessage", "mimi:commit");
  if (!commit.ok) return reject(commit.summary);
  const groupInfo = unwrap(submission.groupInfo, "GroupInfo", "mimi:groupInfo");
  if (!groupInfo.ok) return reject(groupInfo.summary);
  if (submission.kind === "add") {
    const welcome = unwrap(submission.welcome, "Welcome", "mimi:welcome");
    if (!welcome.ok) return reject(welcome.summary);
  }

  const state = channel.publicState;
  const inspected = inspectCommit(state, commit.bytes);
  if (!inspected.ok) return reject(`mimi:commit: ${inspected.reason}: ${inspected.detail}`);
  if (inspected.inspection.epoch !== state.epoch) {
    return reject(
      `the commit is for epoch ${inspected.inspection.epoch}, the channel is at epoch ${state.epoch}`,
    );
  }
  const validator = trackingValidator(ctx.credentials);
  const applied = await applyCommit(state, commit.bytes, {
    validateCredential: validator.validate,
    nowSeconds: Math.floor(ctx.now().getTime() / 1000),
  });
  if (!applied.ok) {
    validator.throwIfTransient();
    return reject(`mimi:commit: ${applied.reason}: ${applied.detail}`);
  }
  const { next, summary } = applied;

  const added: { leafIndex: number; acct: string; actorUrl: string | undefined }[] = [];
  for (const client of summary.added) {
    const identified = await acctOf(ctx, client.credential);
    if (!identified.ok) return reject(`an added credential: ${identified.detail}`);
    added.push({
      leafIndex: client.leafIndex,
      acct: identified.acct,
      actorUrl: await actorOfAcct(ctx, identified.acct),
    });
  }
  const dmRefused = dmAddDecision(
    dmParticipants,
    added.map((client) => client.acct),
  );
  if (dmRefused) return dmRefused;
  const plan = planMembershipChange({
    kind: submission.kind,
    object,
    submitter,
    members: basis?.members ?? channel.members,
    committerLeaf: summary.committer.leafIndex,
    removedLeaves: summary.removed.map((member) => member.leafIndex),
    added,
  });
  if (!plan.ok) return reject(plan.summary);

  const matches = await checkGroupInfoMatches(next, groupInfo.bytes);
  if (!matches.ok) return reject(`mimi:groupInfo: ${matches.reason}: ${matches.detail}`);
  const members: ChannelMember[] = plan.members;
  const remaining = new Set(followersOf(members));
  const now = ctx.now();
  return {
    kind: "accept",
    change: {
      kind: "commit",
      expectedEpoch: channel.epoch,
      newEpoch: Number(next.epoch),
      publicState: encodePublicGroupState(next),
      groupInfo: groupInfo.bytes,
      members,
      permission,
      removedActors: followersOf(channel.members).filter((actor) => !remaining.has(actor)),
      removedAt: now,
      forgetRemovalsBefore: new Date(now.getTime() - ctx.settings.removedReaderGraceSeconds * 1000),
      ...(basis?.completesDeparture ? { completesDeparture: object } : {}),
    },
  };
}

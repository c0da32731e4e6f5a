import type { ActivityEnvelope } from "@mimi/activitypub";
import {
  applyCommit,
  applyExternalCommit,
  checkGroupInfoMatches,
  encodePublicGroupState,
  inspectCommit,
  type PublicGroupState,
} from "@mimi/mls";
import type { ChannelInboxItem } from "@mimi/topics";
import type { ChannelSequencerContext } from "../context.js";
import {
  checkDeviceEpoch,
  checkDeviceSubmitter,
  type DeviceReason,
  planDeviceJoin,
  planDeviceRemoval,
} from "../domain/devices.js";
import type { ChannelMember } from "../domain/rules.js";
import { referenceId, type Submission } from "../domain/submission.js";
import { type Decision, TransientFailure } from "./decision.js";
import type { StoredChannel } from "./store.js";
import { trackingValidator, unwrap } from "./submitted-mls.js";

type DeviceSubmission = Extract<Submission, { kind: "deviceJoin" | "deviceRemove" }>;

const refuse = (reason: DeviceReason, summary: string): Decision => ({ kind: "reject", summary, reason });

/**
 * Add{mimi:Device} (a member's new device joins by external commit) and Remove{mimi:Device} (a
 * member takes their own other device out). Verified and ordered like any commit (one per epoch);
 * the followers do not change. Every refusal carries a `mimi:reason`.
 */
export async function decideDevice(
  ctx: ChannelSequencerContext,
  item: ChannelInboxItem,
  activity: ActivityEnvelope,
  submission: DeviceSubmission,
  channel: StoredChannel,
): Promise<Decision> {
  const channelUrl = ctx.urls.channel(item.channelId);
  const submitter = item.authenticatedActor;
  if (referenceId(activity.target) !== channelUrl) {
    return refuse("malformed", `the activity's target must be ${channelUrl}`);
  }
  const allowed = checkDeviceSubmitter(channel.members, submitter, submission.member);
  if (!allowed.ok) return refuse(allowed.reason, allowed.summary);
  const commit = unwrap(submission.commit, "PublicMessage", "mimi:commit");
  if (!commit.ok) return refuse("malformed", commit.summary);
  const groupInfo = unwrap(submission.groupInfo, "GroupInfo", "mimi:groupInfo");
  if (!groupInfo.ok) return refuse("malformed", groupInfo.summary);

  const state = channel.publicState;
  const inspected = inspectCommit(state, commit.bytes);
  if (!inspected.ok) {
    const stale = inspected.reason === "staleEpoch" || inspected.reason === "futureEpoch";
    return refuse(
      stale ? "staleEpoch" : "invalidCommit",
      `mimi:commit: ${inspected.reason}: ${inspected.detail}`,
    );
  }
  const current = checkDeviceEpoch(inspected.inspection.epoch, state.epoch);
  if (!current.ok) return refuse(current.reason, current.summary);

  const validator = trackingValidator(ctx.credentials);
  const options = {
    validateCredential: validator.validate,
    nowSeconds: Math.floor(ctx.now().getTime() / 1000),
  };
  let next: PublicGroupState;
  let members: ChannelMember[];
  if (submission.kind === "deviceJoin") {
    const applied = await applyExternalCommit(state, commit.bytes, options);
    if (!applied.ok) {
      validator.throwIfTransient();
      return refuse("invalidCommit", `mimi:commit: ${applied.reason}: ${applied.detail}`);
    }
    const identified = await ctx.credentials.identify(applied.summary.joiner.credential);
    if (!identified.ok) {
      if (identified.transient) throw new TransientFailure(identified.detail);
      return refuse("invalidCommit", `the joining credential: ${identified.detail}`);
    }
    const plan = planDeviceJoin(channel.members, submitter, {
      joinerAcct: identified.acct,
      joinerLeaf: applied.summary.joiner.leafIndex,
      removedLeaves: applied.summary.removed.map((member) => member.leafIndex),
    });
    if (!plan.ok) return refuse(plan.reason, plan.summary);
    next = applied.next;
    members = plan.members;
  } else {
    const applied = await applyCommit(state, commit.bytes, options);
    if (!applied.ok) {
      validator.throwIfTransient();
      return refuse("invalidCommit", `mimi:commit: ${applied.reason}: ${applied.detail}`);
    }
    const plan = planDeviceRemoval(channel.members, submitter, {
      committerLeaf: applied.summary.committer.leafIndex,
      addedLeaves: applied.summary.added.map((client) => client.leafIndex),
      removedLeaves: applied.summary.removed.map((member) => member.leafIndex),
    });
    if (!plan.ok) return refuse(plan.reason, plan.summary);
    next = applied.next;
    members = plan.members;
  }
  const matches = await checkGroupInfoMatches(next, groupInfo.bytes);
  if (!matches.ok) {
    return refuse("groupInfoMismatch", `mimi:groupInfo: ${matches.reason}: ${matches.detail}`);
  }
  const now = ctx.now();
  return {
    kind: "accept",
    conflictReason: "staleEpoch",
    change: {
      kind: "commit",
      expectedEpoch: channel.epoch,
      newEpoch: Number(next.epoch),
      publicState: encodePublicGroupState(next),
      groupInfo: groupInfo.bytes,
      members,
      // Any current member may bring in or take out their own devices; the transaction checks they still are one.
      permission: { submitter, action: { kind: "message" } },
      removedActors: [],
      removedAt: now,
      forgetRemovalsBefore: new Date(now.getTime() - ctx.settings.removedReaderGraceSeconds * 1000),
    },
  };
}

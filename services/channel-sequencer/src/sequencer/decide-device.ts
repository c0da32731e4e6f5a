import type { ActivityEnvelope } from "@mimi/activitypub";
import { applyCommit, applyExternalCommit, type PublicGroupState } from "@mimi/mls";
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
import type { Submission } from "../domain/submission.js";
import { type Decision, TransientFailure } from "./decision.js";
import type { StoredChannel } from "./store.js";
import {
  acceptOwnCommit,
  checkTargetsChannel,
  readSubmittedCommit,
  trackingValidator,
} from "./submitted-mls.js";

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
  const submitter = item.authenticatedActor;
  const targeted = checkTargetsChannel(ctx, item, activity);
  if (!targeted.ok) return refuse(targeted.reason, targeted.summary);
  const allowed = checkDeviceSubmitter(channel.members, submitter, submission.member);
  if (!allowed.ok) return refuse(allowed.reason, allowed.summary);
  const state = channel.publicState;
  const submitted = readSubmittedCommit(submission, state, checkDeviceEpoch);
  if (!submitted.ok) return refuse(submitted.reason, submitted.summary);
  const commit = submitted.commit;

  const validator = trackingValidator(ctx.credentials);
  const options = {
    validateCredential: validator.validate,
    nowSeconds: Math.floor(ctx.now().getTime() / 1000),
  };
  let next: PublicGroupState;
  let members: ChannelMember[];
  if (submission.kind === "deviceJoin") {
    const applied = await applyExternalCommit(state, commit, options);
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
    const applied = await applyCommit(state, commit, options);
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
  return acceptOwnCommit(ctx, channel, submitter, { next, groupInfo: submitted.groupInfo, members: members });
}

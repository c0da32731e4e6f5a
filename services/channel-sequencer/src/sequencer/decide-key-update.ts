import type { ActivityEnvelope } from "@mimi/activitypub";
import { applyCommit, checkGroupInfoMatches, encodePublicGroupState, inspectCommit } from "@mimi/mls";
import type { ChannelInboxItem } from "@mimi/topics";
import type { ChannelSequencerContext } from "../context.js";
import {
  checkKeyUpdateCommit,
  checkKeyUpdateEpoch,
  checkKeyUpdateSubmitter,
  type KeyUpdateReason,
} from "../domain/key-update.js";
import { referenceId, type Submission } from "../domain/submission.js";
import type { Decision } from "./decision.js";
import type { StoredChannel } from "./store.js";
import { trackingValidator, unwrap } from "./submitted-mls.js";

const reject = (summary: string, reason: string): Decision => ({ kind: "reject", summary, reason });

/**
 * Update{mimi:KeyUpdate}: a member's commit of a fresh UpdatePath for their own leaf. Verified and
 * ordered like any commit (one per epoch); it changes keys only, so members and roles stay as they are.
 */
export async function decideKeyUpdate(
  ctx: ChannelSequencerContext,
  item: ChannelInboxItem,
  activity: ActivityEnvelope,
  submission: Extract<Submission, { kind: "keyUpdate" }>,
  channel: StoredChannel,
): Promise<Decision> {
  const refuse = (reason: KeyUpdateReason, summary: string) => reject(summary, reason);
  const channelUrl = ctx.urls.channel(item.channelId);
  const submitter = item.authenticatedActor;
  if (referenceId(activity.target) !== channelUrl) {
    return refuse("malformed", `the activity's target must be ${channelUrl}`);
  }
  const allowed = checkKeyUpdateSubmitter(channel.members, submitter, submission.member);
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
  const current = checkKeyUpdateEpoch(inspected.inspection.epoch, state.epoch);
  if (!current.ok) return refuse(current.reason, current.summary);
  const validator = trackingValidator(ctx.credentials);
  const applied = await applyCommit(state, commit.bytes, {
    validateCredential: validator.validate,
    nowSeconds: Math.floor(ctx.now().getTime() / 1000),
  });
  if (!applied.ok) {
    validator.throwIfTransient();
    return refuse("invalidCommit", `mimi:commit: ${applied.reason}: ${applied.detail}`);
  }
  const { next, summary } = applied;
  const verified = checkKeyUpdateCommit(channel.members, submitter, {
    committerLeaf: summary.committer.leafIndex,
    addedLeaves: summary.added.map((client) => client.leafIndex),
    removedLeaves: summary.removed.map((member) => member.leafIndex),
    hasUpdatePath: summary.hasUpdatePath,
  });
  if (!verified.ok) return refuse(verified.reason, verified.summary);
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
      members: [...channel.members],
      // Any current member may refresh their own keys; the transaction checks they still are one.
      permission: { submitter, action: { kind: "message" } },
      removedActors: [],
      removedAt: now,
      forgetRemovalsBefore: new Date(now.getTime() - ctx.settings.removedReaderGraceSeconds * 1000),
    },
  };
}

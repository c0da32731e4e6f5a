import type { ActivityEnvelope } from "@mimi/activitypub";
import { applyCommit, type CommitInspection, sameCredential } from "@mimi/mls";
import type { ChannelInboxItem } from "@mimi/topics";
import type { ChannelSequencerContext } from "../context.js";
import {
  checkCredentialChange,
  checkKeyUpdateCommit,
  checkKeyUpdateEpoch,
  checkKeyUpdateSubmitter,
  type KeyUpdateCheck,
  type KeyUpdateReason,
} from "../domain/key-update.js";
import type { Submission } from "../domain/submission.js";
import { type Decision, TransientFailure } from "./decision.js";
import type { StoredChannel } from "./store.js";
import {
  acceptOwnCommit,
  checkTargetsChannel,
  leafIdentity,
  readSubmittedCommit,
  trackingValidator,
} from "./submitted-mls.js";

const reject = (summary: string, reason: string): Decision => ({ kind: "reject", summary, reason });

/**
 * Update{mimi:KeyUpdate}: a member's commit of a fresh UpdatePath for their own leaf. Verified and
 * ordered like any commit (one per epoch); it changes keys only (and, after a renewal, the leaf's
 * credential for one naming the same client), so members and roles stay as they are.
 */
export async function decideKeyUpdate(
  ctx: ChannelSequencerContext,
  item: ChannelInboxItem,
  activity: ActivityEnvelope,
  submission: Extract<Submission, { kind: "keyUpdate" }>,
  channel: StoredChannel,
): Promise<Decision> {
  const refuse = (reason: KeyUpdateReason, summary: string) => reject(summary, reason);
  const submitter = item.authenticatedActor;
  const targeted = checkTargetsChannel(ctx, item, activity);
  if (!targeted.ok) return refuse(targeted.reason, targeted.summary);
  const allowed = checkKeyUpdateSubmitter(channel.members, submitter, submission.member);
  if (!allowed.ok) return refuse(allowed.reason, allowed.summary);
  const state = channel.publicState;
  const submitted = readSubmittedCommit(submission, state, checkKeyUpdateEpoch);
  if (!submitted.ok) return refuse(submitted.reason, submitted.summary);

  const renewal = await checkRenewedCredential(ctx, submitted.inspection);
  if (!renewal.ok) return refuse(renewal.reason, renewal.summary);
  const validator = trackingValidator(ctx.credentials);
  const applied = await applyCommit(state, submitted.commit, {
    validateCredential: validator.validate,
    nowSeconds: Math.floor(ctx.now().getTime() / 1000),
    // Only a change the check above accepted reaches the verifier; it still validates the new leaf.
    allowCredentialChange: async () => true,
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
  return acceptOwnCommit(ctx, channel, submitter, {
    next,
    groupInfo: submitted.groupInfo,
    members: [...channel.members],
  });
}

/**
 * When the commit's UpdatePath gives the committer's leaf another credential or signature key: the
 * new credential must validate with the issuers of its domain and name the same acct and client as
 * the current one (checkCredentialChange). Issuers that cannot be reached make the item retry.
 */
async function checkRenewedCredential(
  ctx: ChannelSequencerContext,
  inspection: CommitInspection,
): Promise<KeyUpdateCheck> {
  const current = inspection.committer;
  const renewed = inspection.updatePathLeaf;
  if (current === undefined || renewed === undefined) return { ok: true };
  if (
    sameCredential(current.credential, renewed.credential) &&
    Buffer.from(current.signaturePublicKey).equals(Buffer.from(renewed.signaturePublicKey))
  ) {
    return { ok: true };
  }
  const valid = await ctx.credentials.verify(renewed.credential, renewed.signaturePublicKey);
  if (!valid.ok && valid.transient)
    throw new TransientFailure(`credential issuers unavailable: ${valid.detail}`);
  return checkCredentialChange(
    leafIdentity(current.credential),
    valid.ok ? leafIdentity(renewed.credential) : { ok: false, detail: valid.detail },
  );
}

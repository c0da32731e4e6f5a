import type { ActivityEnvelope } from "@mimi/activitypub";
import { readClientCertificate } from "@mimi/credentials";
import type {
  CommitInspection,
  Credential,
  MlsWireType,
  PublicGroupState,
  ValidateCredential,
} from "@mimi/mls";
import { checkGroupInfoMatches, encodePublicGroupState, fromWireObject, inspectCommit } from "@mimi/mls";
import type { ChannelInboxItem } from "@mimi/topics";
import type { CredentialAuthority } from "../adapters/credential-authority.js";
import type { ChannelSequencerContext } from "../context.js";
import type { LeafIdentity } from "../domain/key-update.js";
import type { ChannelMember } from "../domain/rules.js";
import { referenceId } from "../domain/submission.js";
import { type Decision, TransientFailure } from "./decision.js";
import type { StoredChannel } from "./store.js";

/** An MLS object of a submission (`mimi:commit`, `mimi:groupInfo`, ...) as bytes, or why it is unusable. */
export function unwrap(
  value: unknown,
  type: MlsWireType,
  field: string,
): { ok: true; bytes: Uint8Array } | { ok: false; summary: string } {
  if (value === undefined) return { ok: false, summary: `${field} is missing` };
  const unwrapped = fromWireObject(value, type);
  return unwrapped.ok ? unwrapped : { ok: false, summary: `${field}: ${unwrapped.detail}` };
}

/** Counts transient credential failures, which MLS verification only sees as "invalid". */
export function trackingValidator(authority: CredentialAuthority): {
  validate: ValidateCredential;
  throwIfTransient(): void;
} {
  let transient: string | undefined;
  return {
    validate: async (credential, key) => {
      const check = await authority.verify(credential, key);
      if (!check.ok && check.transient) transient = check.detail;
      return check.ok;
    },
    throwIfTransient() {
      if (transient !== undefined) throw new TransientFailure(`credential issuers unavailable: ${transient}`);
    },
  };
}

type Refusal<R> = { ok: false; reason: R; summary: string };

/** A member's commit as submitted, read before the rules of its kind: its MLS objects and what it claims. */
export type SubmittedCommit<R> =
  | { ok: true; commit: Uint8Array; groupInfo: Uint8Array; inspection: CommitInspection }
  | Refusal<R | "malformed" | "staleEpoch" | "invalidCommit">;

/** A commit submission (a key update, a device's join or removal) must target the channel it reached. */
export function checkTargetsChannel(
  ctx: ChannelSequencerContext,
  item: ChannelInboxItem,
  activity: ActivityEnvelope,
): { ok: true } | Refusal<"malformed"> {
  const channelUrl = ctx.urls.channel(item.channelId);
  if (referenceId(activity.target) === channelUrl) return { ok: true };
  return { ok: false, reason: "malformed", summary: `the activity's target must be ${channelUrl}` };
}

/**
 * The `mimi:commit` and `mimi:groupInfo` of a commit submission, and the commit read against the
 * channel's public state: its epoch must pass `checkEpoch` (one commit per epoch). Nothing is
 * verified yet; each kind of commit applies it with its own rules afterwards.
 */
export function readSubmittedCommit<R>(
  submission: { readonly commit: unknown; readonly groupInfo: unknown },
  state: PublicGroupState,
  checkEpoch: (commitEpoch: bigint, channelEpoch: bigint) => { ok: true } | Refusal<R>,
): SubmittedCommit<R> {
  const commit = unwrap(submission.commit, "PublicMessage", "mimi:commit");
  if (!commit.ok) return { ok: false, reason: "malformed", summary: commit.summary };
  const groupInfo = unwrap(submission.groupInfo, "GroupInfo", "mimi:groupInfo");
  if (!groupInfo.ok) return { ok: false, reason: "malformed", summary: groupInfo.summary };
  const inspected = inspectCommit(state, commit.bytes);
  if (!inspected.ok) {
    const stale = inspected.reason === "staleEpoch" || inspected.reason === "futureEpoch";
    return {
      ok: false,
      reason: stale ? "staleEpoch" : "invalidCommit",
      summary: `mimi:commit: ${inspected.reason}: ${inspected.detail}`,
    };
  }
  const current = checkEpoch(inspected.inspection.epoch, state.epoch);
  if (!current.ok) return current;
  return { ok: true, commit: commit.bytes, groupInfo: groupInfo.bytes, inspection: inspected.inspection };
}

/** Whom a leaf's credential names (its certificate's `acct:` and `mimi-client:`), read without a trust decision. */
export function leafIdentity(credential: Credential): LeafIdentity {
  if (credential.credentialType !== "x509") {
    return { ok: false, detail: `credential type ${credential.credentialType} is not x509` };
  }
  const leaf = credential.certificates[0];
  if (leaf === undefined) return { ok: false, detail: "empty certificate chain" };
  const read = readClientCertificate(leaf);
  if (!read.ok) return { ok: false, detail: `${read.reason}: ${read.detail}` };
  return { ok: true, acct: read.contents.acct, clientId: read.contents.clientId };
}

/**
 * A member's verified commit of a change to their own clients (new keys, a device joining or taken
 * out): accepted when the submitted GroupInfo is the new epoch's. `members` are the channel's members
 * after it; the followers do not change.
 */
export async function acceptOwnCommit(
  ctx: ChannelSequencerContext,
  channel: StoredChannel,
  submitter: string,
  accepted: { next: PublicGroupState; groupInfo: Uint8Array; members: ChannelMember[] },
): Promise<Decision> {
  const matches = await checkGroupInfoMatches(accepted.next, accepted.groupInfo);
  if (!matches.ok) {
    return {
      kind: "reject",
      reason: "groupInfoMismatch",
      summary: `mimi:groupInfo: ${matches.reason}: ${matches.detail}`,
    };
  }
  const now = ctx.now();
  return {
    kind: "accept",
    conflictReason: "staleEpoch",
    change: {
      kind: "commit",
      expectedEpoch: channel.epoch,
      newEpoch: Number(accepted.next.epoch),
      publicState: encodePublicGroupState(accepted.next),
      groupInfo: accepted.groupInfo,
      members: accepted.members,
      // Any current member may change their own clients; the transaction checks they still are one.
      permission: { submitter, action: { kind: "message" } },
      removedActors: [],
      removedAt: now,
      forgetRemovalsBefore: new Date(now.getTime() - ctx.settings.removedReaderGraceSeconds * 1000),
    },
  };
}

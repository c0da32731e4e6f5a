/**
 * The rules of a key update (`Update{mimi:KeyUpdate}`, docs/protocol.md 6.4.10): a member commits a
 * fresh UpdatePath for their own leaf and changes nothing else, except, after a renewal, the leaf's
 * credential for one naming the same account and client. Pure; the sequencer runs the MLS
 * verification between the checks below and passes its results in.
 */
import { type ChannelMember, isFollower } from "./rules.js";

/** The machine-readable reason (`mimi:reason`) of a key update's Reject (docs/protocol.md 9.3). */
export type KeyUpdateReason =
  | "malformed"
  | "notAMember"
  | "notOwnLeaf"
  | "staleEpoch"
  | "invalidCommit"
  | "changesMembership"
  | "noUpdatePath"
  | "credentialChanged"
  | "groupInfoMismatch";

export type KeyUpdateCheck = { ok: true } | { ok: false; reason: KeyUpdateReason; summary: string };

const refuse = (reason: KeyUpdateReason, summary: string): KeyUpdateCheck => ({ ok: false, reason, summary });

/**
 * Before any MLS work: the submitter is a member and the object names them (`mimi:member`), so a
 * non-member costs the server no verification and nobody updates in someone else's name.
 */
export function checkKeyUpdateSubmitter(
  members: readonly ChannelMember[],
  submitter: string,
  namedMember: string | undefined,
): KeyUpdateCheck {
  if (!isFollower(members, submitter)) {
    return refuse("notAMember", `${submitter} is not a member of the channel`);
  }
  if (namedMember !== submitter) {
    return refuse("notOwnLeaf", `a key update's mimi:member must be its actor ${submitter}`);
  }
  return { ok: true };
}

/** One commit per epoch, as for every commit: it must be for the channel's current epoch. */
export function checkKeyUpdateEpoch(commitEpoch: bigint, channelEpoch: bigint): KeyUpdateCheck {
  if (commitEpoch === channelEpoch) return { ok: true };
  return refuse(
    "staleEpoch",
    `the commit is for epoch ${commitEpoch}, the channel is at epoch ${channelEpoch}`,
  );
}

/** What the verified commit did, from the MLS commit summary. */
export interface VerifiedKeyUpdate {
  readonly committerLeaf: number;
  readonly addedLeaves: readonly number[];
  readonly removedLeaves: readonly number[];
  readonly hasUpdatePath: boolean;
}

/**
 * After the commit verified against the public state: it was signed by a leaf of the submitter, adds
 * and removes nobody, and carries an UpdatePath (the point of a key update: new keys for that leaf).
 */
export function checkKeyUpdateCommit(
  members: readonly ChannelMember[],
  submitter: string,
  commit: VerifiedKeyUpdate,
): KeyUpdateCheck {
  const signer = members.find((member) => member.leafIndex === commit.committerLeaf);
  if (signer === undefined) {
    return refuse("notOwnLeaf", `the commit's signer (leaf ${commit.committerLeaf}) is not a member`);
  }
  if (signer.actorUrl !== submitter) {
    return refuse(
      "notOwnLeaf",
      `the commit is signed by a client of ${signer.actorUrl}, not of the submitter ${submitter}`,
    );
  }
  if (commit.addedLeaves.length > 0 || commit.removedLeaves.length > 0) {
    return refuse("changesMembership", "a key update's commit must not add or remove members");
  }
  if (!commit.hasUpdatePath) {
    return refuse("noUpdatePath", "a key update's commit must carry an UpdatePath for the committer's leaf");
  }
  return { ok: true };
}

/** Whom a leaf's credential names (`acct:` and `mimi-client:` of its certificate), or why that is unknown. */
export type LeafIdentity =
  | { readonly ok: true; readonly acct: string; readonly clientId: string }
  | { readonly ok: false; readonly detail: string };

/**
 * Who may change a leaf's credential: the leaf's own client, renewing it. A key update whose new leaf
 * carries another credential (or signature key) than the committer's current leaf passes only when
 * the new credential validated with the issuers of its domain (`next` is its identity then, or why
 * not) and names the same acct and the same client as the current one, so no member turns their leaf
 * into another user's or another device's.
 */
export function checkCredentialChange(previous: LeafIdentity, next: LeafIdentity): KeyUpdateCheck {
  if (!next.ok) return refuse("credentialChanged", `the new credential is not valid: ${next.detail}`);
  if (!previous.ok) {
    return refuse("credentialChanged", `the leaf's current credential names nobody: ${previous.detail}`);
  }
  if (next.acct !== previous.acct) {
    return refuse(
      "credentialChanged",
      `the new credential names ${next.acct}, the leaf is ${previous.acct}'s`,
    );
  }
  if (next.clientId !== previous.clientId) {
    return refuse(
      "credentialChanged",
      `the new credential names client ${next.clientId}, the leaf is client ${previous.clientId}'s`,
    );
  }
  return { ok: true };
}

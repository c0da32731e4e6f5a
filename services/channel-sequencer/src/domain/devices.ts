/**
 * The rules of a member's devices (docs/protocol.md 6.4.11 and 6.4.12): a member's new device joins
 * by external commit (`Add{mimi:Device}`), and a member takes one of their own other devices out
 * (`Remove{mimi:Device}`). Neither changes who the followers are. Pure; the sequencer runs the MLS
 * verification between the checks below and passes its results in.
 */
import { type ChannelMember, isFollower } from "./rules.js";

/** The machine-readable reason (`mimi:reason`) of a device join's or removal's Reject (protocol.md 9.3). */
export type DeviceReason =
  | "malformed"
  | "notAMember"
  | "notOwnDevice"
  | "wrongDomain"
  | "staleEpoch"
  | "invalidCommit"
  | "changesMembership"
  | "groupInfoMismatch";

export type DeviceCheck<T = object> =
  | ({ ok: true } & T)
  | { ok: false; reason: DeviceReason; summary: string };

const refuse = (reason: DeviceReason, summary: string) => ({ ok: false as const, reason, summary });

/**
 * Before any MLS work: the submitter is a member (a follower: a removed user, or one who left, is
 * not) and the object names them (`mimi:member`): a device is only ever added to or taken from its
 * own user.
 */
export function checkDeviceSubmitter(
  members: readonly ChannelMember[],
  submitter: string,
  namedMember: string | undefined,
): DeviceCheck {
  if (!isFollower(members, submitter)) {
    return refuse("notAMember", `${submitter} is not a member of the channel`);
  }
  if (namedMember !== submitter) {
    return refuse("notOwnDevice", `a mimi:Device's mimi:member must be its actor ${submitter}`);
  }
  return { ok: true };
}

/** One commit per epoch, as for every commit: it must be for the channel's current epoch. */
export function checkDeviceEpoch(commitEpoch: bigint, channelEpoch: bigint): DeviceCheck {
  if (commitEpoch === channelEpoch) return { ok: true };
  return refuse(
    "staleEpoch",
    `the commit is for epoch ${commitEpoch}, the channel is at epoch ${channelEpoch}`,
  );
}

/** The domain of an acct (`user@domain`), lowercased. */
function domainOf(acct: string): string {
  return acct.slice(acct.lastIndexOf("@") + 1).toLowerCase();
}

/** What the verified external commit did. */
export interface VerifiedJoin {
  /** The acct the joiner's credential names (its issuer checked by the credential authority). */
  readonly joinerAcct: string;
  /** The joiner's leaf in the new tree. */
  readonly joinerLeaf: number;
  /** Leaves the commit removes (a resync of an old leaf), from the old tree. */
  readonly removedLeaves: readonly number[];
}

/**
 * After the external commit verified: the joining credential names the submitter, i.e. an acct one of
 * the submitter's current leaves already has (so it is the same user on the same domain: a credential
 * of another domain that resolves to the same actor does not count), and a resync removes only one of
 * the submitter's own leaves. Returns the members after the join.
 */
export function planDeviceJoin(
  members: readonly ChannelMember[],
  submitter: string,
  join: VerifiedJoin,
): DeviceCheck<{ members: ChannelMember[] }> {
  const own = members.filter((member) => member.actorUrl === submitter);
  const accts = new Set(own.map((member) => member.acct));
  if (!accts.has(join.joinerAcct)) {
    const domains = new Set(own.map((member) => domainOf(member.acct)));
    if (!domains.has(domainOf(join.joinerAcct))) {
      return refuse(
        "wrongDomain",
        `the joining credential names ${join.joinerAcct}, of another domain than ${submitter}'s`,
      );
    }
    return refuse("notOwnDevice", `the joining credential names ${join.joinerAcct}, not ${submitter}`);
  }
  const removed = new Set(join.removedLeaves);
  const stranger = [...removed].find((leaf) => !own.some((member) => member.leafIndex === leaf));
  if (stranger !== undefined) {
    return refuse(
      "notOwnDevice",
      `a device join may only replace a leaf of its own user, not leaf ${stranger}`,
    );
  }
  const remaining = members.filter((member) => !removed.has(member.leafIndex));
  const joined: ChannelMember = { leafIndex: join.joinerLeaf, actorUrl: submitter, acct: join.joinerAcct };
  return { ok: true, members: [...remaining, joined].sort((a, b) => a.leafIndex - b.leafIndex) };
}

/** What the verified member commit of a device removal did. */
export interface VerifiedDeviceRemoval {
  readonly committerLeaf: number;
  readonly addedLeaves: readonly number[];
  readonly removedLeaves: readonly number[];
}

/**
 * After the commit verified: one of the submitter's devices removes one or more of the submitter's
 * other devices, and adds nobody. The committer stays, so the submitter stays a follower. Returns
 * the members after the removal.
 */
export function planDeviceRemoval(
  members: readonly ChannelMember[],
  submitter: string,
  removal: VerifiedDeviceRemoval,
): DeviceCheck<{ members: ChannelMember[] }> {
  const committer = members.find((member) => member.leafIndex === removal.committerLeaf);
  if (committer === undefined || committer.actorUrl !== submitter) {
    return refuse(
      "notOwnDevice",
      `the commit is signed by ${committer === undefined ? `leaf ${removal.committerLeaf}, not a member` : `a client of ${committer.actorUrl}`}, not by a device of ${submitter}`,
    );
  }
  if (removal.addedLeaves.length > 0 || removal.removedLeaves.length === 0) {
    return refuse("changesMembership", "a device removal's commit removes devices and adds nobody");
  }
  const removed = new Set(removal.removedLeaves);
  const other = members.find((member) => removed.has(member.leafIndex) && member.actorUrl !== submitter);
  if (other !== undefined) {
    return refuse(
      "notOwnDevice",
      `the commit also removes a client of ${other.actorUrl}; remove only your own devices`,
    );
  }
  if (members.filter((member) => removed.has(member.leafIndex)).length !== removed.size) {
    return refuse("invalidCommit", "the commit removes a leaf that is not a member");
  }
  return { ok: true, members: members.filter((member) => !removed.has(member.leafIndex)) };
}

/**
 * The rules of leaving a channel (`Leave{object: C}`, docs/protocol.md 6.4.11). MLS does not let a
 * member commit their own removal, so leaving happens in two steps: the channel's server records the
 * departure at once (the leaver stops being a follower: no more forwards, no log, no GroupInfo), and
 * any remaining member commits the Remove of the leaver's leaves later, which the server then allows
 * whatever that member's role. Pure; the store applies the outcome.
 */
import type { RoleTable } from "./roles.js";
import type { ChannelMember } from "./rules.js";

/** The machine-readable reason (`mimi:reason`) of a Leave's Reject. */
export type LeaveReason = "malformed" | "notAMember" | "lastOwner";

export type LeaveCheck =
  | {
      readonly ok: true;
      /** The leaver's leaves: they stay in the MLS tree until a member commits their Remove. */
      readonly departing: readonly ChannelMember[];
    }
  | { readonly ok: false; readonly reason: LeaveReason; readonly summary: string };

const refuse = (reason: LeaveReason, summary: string): LeaveCheck => ({ ok: false, reason, summary });

/**
 * The owner may leave only when nobody else remains, or when another member is an owner too: a
 * channel with members and nobody to manage it could never add or remove anyone again. Checked on the
 * roles as they are (again under the channel's lock when the departure is stored).
 */
export function lastOwnerRefusal(roles: RoleTable, leaver: string): string | undefined {
  if (roles.get(leaver) !== "owner") return undefined;
  const others = [...roles.keys()].filter((actor) => actor !== leaver);
  if (others.length === 0) return undefined;
  if (others.some((actor) => roles.get(actor) === "owner")) return undefined;
  return "the channel's owner cannot leave while other members remain";
}

/**
 * Who becomes owner when the owner's account is deleted while others remain (a deleted account cannot
 * stay to manage the channel, and cannot hand the role over itself): the first admin, else the first
 * member, in the order of their actor URLs, so every replica picks the same. Undefined when the
 * leaver is not the last owner or nobody else remains.
 */
export function ownerSuccessor(roles: RoleTable, leaver: string): string | undefined {
  if (lastOwnerRefusal(roles, leaver) === undefined) return undefined;
  const others = [...roles.keys()].filter((actor) => actor !== leaver).sort();
  return others.find((actor) => roles.get(actor) === "admin") ?? others[0];
}

/**
 * A Leave: it names the channel in `object` and `target`, and its actor is a current member who may
 * go (see `lastOwnerRefusal`). An actor who left already is no longer a member.
 */
export function checkLeave(input: {
  readonly channelUrl: string;
  readonly object: string | undefined;
  readonly target: string | undefined;
  readonly submitter: string;
  readonly members: readonly ChannelMember[];
  readonly roles: RoleTable;
}): LeaveCheck {
  const { channelUrl, submitter } = input;
  if (input.target !== channelUrl) return refuse("malformed", `the activity's target must be ${channelUrl}`);
  if (input.object !== channelUrl)
    return refuse("malformed", `a Leave's object must be the channel ${channelUrl}`);
  const departing = input.members.filter((member) => member.actorUrl === submitter);
  if (departing.length === 0) return refuse("notAMember", `${submitter} is not a member of the channel`);
  const owner = lastOwnerRefusal(input.roles, submitter);
  if (owner !== undefined) return refuse("lastOwner", owner);
  return { ok: true, departing };
}

/**
 * The members a Remove's commit is checked against: the current members plus the leaves of `object`
 * when `object` has left and their leaves still wait to be removed. `completesDeparture` says so:
 * then any current member may commit the Remove (it carries out the leaver's own wish).
 */
export function removalBasis(
  members: readonly ChannelMember[],
  departed: readonly ChannelMember[],
  object: string,
): { members: ChannelMember[]; completesDeparture: boolean } {
  const leaves = departed.filter((member) => member.actorUrl === object);
  if (leaves.length === 0) return { members: [...members], completesDeparture: false };
  return {
    members: [...members, ...leaves].sort((a, b) => a.leafIndex - b.leafIndex),
    completesDeparture: true,
  };
}

/** An Add of someone whose departure is not committed yet would leave their old leaves behind. */
export function pendingDepartureRefusal(
  departed: readonly ChannelMember[],
  object: string,
): string | undefined {
  return departed.some((member) => member.actorUrl === object)
    ? `${object} left the channel and their removal is not committed yet; add them again once it is`
    : undefined;
}

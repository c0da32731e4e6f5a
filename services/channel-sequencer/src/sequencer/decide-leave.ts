import type { ActivityEnvelope } from "@mimi/activitypub";
import type { ChannelInboxItem } from "@mimi/topics";
import type { ChannelSequencerContext } from "../context.js";
import { checkLeave } from "../domain/leave.js";
import type { RoleTable } from "../domain/roles.js";
import { referenceId, type Submission } from "../domain/submission.js";
import type { Decision } from "./decision.js";
import type { StoredChannel } from "./store.js";

/**
 * Leave{object: C}: a member leaves. No MLS work: the departure is recorded (the leaver stops being a
 * follower at once), logged and forwarded to the members and the leaver; a remaining member's client
 * then commits the Remove of the leaver's leaves. Every refusal carries a `mimi:reason`.
 */
export function decideLeave(
  ctx: ChannelSequencerContext,
  item: ChannelInboxItem,
  activity: ActivityEnvelope,
  submission: Extract<Submission, { kind: "leave" }>,
  channel: StoredChannel,
): Promise<Decision> {
  return decideDeparture(ctx, item.channelId, { leaver: item.authenticatedActor }, (roles) =>
    checkLeave({
      channelUrl: ctx.urls.channel(item.channelId),
      object: submission.object,
      target: referenceId(activity.target),
      submitter: item.authenticatedActor,
      members: channel.members,
      roles,
    }),
  );
}

/**
 * A departure (a Leave, or the Delete of a member's actor) decided on the channel's roles by `check`,
 * the domain rules of that kind: its refusal, or the departure of `leaver` to record. The accepting
 * transaction checks membership and the owner rule again under the channel's lock, so a member gone
 * meanwhile is refused as `notAMember`.
 */
export async function decideDeparture(
  ctx: ChannelSequencerContext,
  channelId: string,
  departure: { leaver: string; accountDeleted?: true },
  check: (roles: RoleTable) => { ok: true } | { ok: false; reason: string; summary: string },
): Promise<Decision> {
  const roles = await ctx.store.roles(channelId);
  if (roles === undefined) return { kind: "drop", reason: `no channel ${channelId}` };
  const checked = check(roles);
  if (!checked.ok) return { kind: "reject", summary: checked.summary, reason: checked.reason };
  const { leaver, ...flags } = departure;
  return {
    kind: "accept",
    conflictReason: "notAMember",
    change: { kind: "leave", submitter: leaver, departedAt: ctx.now(), ...flags },
  };
}

import type { ActivityEnvelope } from "@mimi/activitypub";
import type { ChannelInboxItem } from "@mimi/topics";
import type { ChannelSequencerContext } from "../context.js";
import { checkLeave } from "../domain/leave.js";
import { referenceId, type Submission } from "../domain/submission.js";
import type { Decision } from "./decision.js";
import type { StoredChannel } from "./store.js";

/**
 * Leave{object: C}: a member leaves. No MLS work: the departure is recorded (the leaver stops being a
 * follower at once), logged and forwarded to the members and the leaver; a remaining member's client
 * then commits the Remove of the leaver's leaves. Every refusal carries a `mimi:reason`.
 */
export async function decideLeave(
  ctx: ChannelSequencerContext,
  item: ChannelInboxItem,
  activity: ActivityEnvelope,
  submission: Extract<Submission, { kind: "leave" }>,
  channel: StoredChannel,
): Promise<Decision> {
  const roles = await ctx.store.roles(item.channelId);
  if (roles === undefined) return { kind: "drop", reason: `no channel ${item.channelId}` };
  const checked = checkLeave({
    channelUrl: ctx.urls.channel(item.channelId),
    object: submission.object,
    target: referenceId(activity.target),
    submitter: item.authenticatedActor,
    members: channel.members,
    roles,
  });
  if (!checked.ok) return { kind: "reject", summary: checked.summary, reason: checked.reason };
  return {
    kind: "accept",
    // The accepting transaction checks membership and the owner rule again under the channel's lock.
    conflictReason: "notAMember",
    change: { kind: "leave", submitter: item.authenticatedActor, departedAt: ctx.now() },
  };
}

import { type ActivityEnvelope, actorIdOf } from "@mimi/activitypub";
import type { ChannelInboxItem } from "@mimi/topics";
import type { ChannelSequencerContext } from "../context.js";
import { checkAccountDeleted } from "../domain/account-deleted.js";
import type { Submission } from "../domain/submission.js";
import type { Decision } from "./decision.js";
import type { StoredChannel } from "./store.js";

/**
 * The Delete of a member's actor: their departure, recorded as a Leave's (they stop being a follower
 * at once; a remaining member's client commits the Remove of their leaves). Every refusal carries a
 * `mimi:reason`. `target` is read from the activity as received, before the channel addresses its
 * forward.
 */
export async function decideAccountDeleted(
  ctx: ChannelSequencerContext,
  item: ChannelInboxItem,
  activity: ActivityEnvelope,
  submission: Extract<Submission, { kind: "accountDeleted" }>,
  channel: StoredChannel,
): Promise<Decision> {
  const roles = await ctx.store.roles(item.channelId);
  if (roles === undefined) return { kind: "drop", reason: `no channel ${item.channelId}` };
  const checked = checkAccountDeleted({
    actor: actorIdOf(activity),
    object: submission.object,
    target: submission.target,
    submitter: item.authenticatedActor,
    members: channel.members,
    roles,
  });
  if (!checked.ok) return { kind: "reject", summary: checked.summary, reason: checked.reason };
  return {
    kind: "accept",
    // Checked again under the channel's lock when the departure is stored.
    conflictReason: "notAMember",
    change: { kind: "leave", submitter: checked.departing, departedAt: ctx.now(), accountDeleted: true },
  };
}

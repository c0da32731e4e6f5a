import { type ActivityEnvelope, actorIdOf } from "@mimi/activitypub";
import type { ChannelInboxItem } from "@mimi/topics";
import type { ChannelSequencerContext } from "../context.js";
import { checkAccountDeleted } from "../domain/account-deleted.js";
import type { Submission } from "../domain/submission.js";
import { decideDeparture } from "./decide-leave.js";
import type { Decision } from "./decision.js";
import type { StoredChannel } from "./store.js";

/**
 * The Delete of a member's actor: their departure, recorded as a Leave's (they stop being a follower
 * at once; a remaining member's client commits the Remove of their leaves). Every refusal carries a
 * `mimi:reason`. `target` is read from the activity as received, before the channel addresses its
 * forward.
 */
export function decideAccountDeleted(
  ctx: ChannelSequencerContext,
  item: ChannelInboxItem,
  activity: ActivityEnvelope,
  submission: Extract<Submission, { kind: "accountDeleted" }>,
  channel: StoredChannel,
): Promise<Decision> {
  const actor = actorIdOf(activity);
  return decideDeparture(ctx, item.channelId, { leaver: actor, accountDeleted: true }, (roles) =>
    checkAccountDeleted({
      actor,
      object: submission.object,
      target: submission.target,
      submitter: item.authenticatedActor,
      members: channel.members,
      roles,
    }),
  );
}

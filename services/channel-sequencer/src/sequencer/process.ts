import { activityEnvelopeSchema, actorIdOf } from "@mimi/activitypub";
import { type HandlerOutcome, type PendingOutcome, pendingOutcome } from "@mimi/bus";
import {
  type ChannelInboxItem,
  type DeliveryRequest,
  deliveryRequestKey,
  deliveryRequestsTopic,
} from "@mimi/topics";
import type { ChannelSequencerContext } from "../context.js";
import { deletionAsForwarded, maySayDeleted } from "../domain/account-deleted.js";
import { acceptActivity, rejectActivity, sequencedActivity } from "../domain/documents.js";
import { withFollowersAddressed, withTargetImpliedByInbox } from "../domain/implied-target.js";
import { readSubmission, referenceId } from "../domain/submission.js";
import { decide } from "./decide.js";
import { type Decision, TransientFailure } from "./decision.js";
import type { AcceptedState, ChannelChange } from "./store.js";

/**
 * Handles one `channel.inbox` item: decides, stores the outcome atomically with the delivery requests
 * it produces, then publishes them to `delivery.requests`. The publish is made in the item's turn (so
 * in channel order) and its acknowledgement awaited as a pending outcome, so the channel's next item
 * is decided meanwhile. A redelivered item (same activity id) is not applied again; if its delivery
 * requests were not all published yet, the same ones are published. Returns `retry` for failures that
 * may pass (database, bus, remote lookups).
 */
export async function handleChannelInboxItem(
  ctx: ChannelSequencerContext,
  item: ChannelInboxItem,
  headers: Record<string, string> = {},
): Promise<HandlerOutcome | PendingOutcome> {
  const parsed = activityEnvelopeSchema.safeParse(item.activity);
  if (!parsed.success) {
    ctx.logger.warn({ channelId: item.channelId }, "channel inbox item without a usable activity dropped");
    return { kind: "drop", reason: "the activity has no usable id, type or actor" };
  }
  const submission = readSubmission(parsed.data);
  // A message at the channel's own inbox may leave `target` out; from here on (checks, log, forward)
  // it carries the channel as target, as members require.
  const channelUrls = {
    channelUrl: ctx.urls.channel(item.channelId),
    followersUrl: ctx.urls.channelFollowers(item.channelId),
  };
  // And whatever it forwards is addressed to its followers, which members' providers require.
  const implied = withFollowersAddressed(
    withTargetImpliedByInbox(parsed.data, { via: item.via, kind: submission.kind, ...channelUrls }),
    channelUrls,
  );
  // The Delete of a member's actor arrives with no target; the channel forwards it addressed as a
  // member's activity, so members' providers accept the forward.
  const activity =
    submission.kind === "accountDeleted"
      ? deletionAsForwarded(implied, channelUrls.channelUrl, channelUrls.followersUrl)
      : implied;
  const log = { channelId: item.channelId, activityId: activity.id, type: activity.type };
  // The Delete of an actor may come signed by its origin's instance actor (the actor's key is gone).
  const deletedBy =
    submission.kind === "accountDeleted" && maySayDeleted(item.authenticatedActor, actorIdOf(activity));
  if (actorIdOf(activity) !== item.authenticatedActor && !deletedBy) {
    ctx.logger.warn(
      { ...log, authenticatedActor: item.authenticatedActor },
      "activity not submitted by its actor dropped",
    );
    return { kind: "drop", reason: "the activity's actor did not submit it" };
  }
  const publisher = publisherFor(ctx, headers);
  try {
    // The prior answer and the channel's state come in one query: most submissions are new messages.
    const { prior, channel } = await ctx.store.submissionBasis(item.channelId, activity.id);
    if (prior !== undefined) {
      if (!prior.published) await publisher(item.channelId, activity.id, prior.deliveries);
      ctx.logger.debug(log, "redelivered channel activity not applied again");
      return { kind: "ok" };
    }
    const decision: Decision = await decide(ctx, item, activity, submission, channel);
    if (decision.kind === "drop") {
      ctx.logger.info({ ...log, reason: decision.reason }, "channel activity dropped");
      return { kind: "drop", reason: decision.reason };
    }
    if (decision.kind === "accept") {
      if (decision.change.kind === "create") await ctx.actorKeys.ensure(ctx.urls.channel(item.channelId));
      const accepted = await ctx.store.accept({
        channelId: item.channelId,
        activityId: activity.id,
        activity,
        change: decision.change,
        deliveriesFor: (state) => acceptanceDeliveries(ctx, item, activity, decision.change, state),
        ...(channel === undefined ? {} : { basis: channel }),
      });
      if (accepted.kind === "accepted") {
        ctx.logger.info(
          { ...log, sequence: accepted.state.sequence, epoch: accepted.state.epoch },
          "channel activity accepted",
        );
        return pendingOutcome(publisher(item.channelId, activity.id, accepted.deliveries).then(settledOk));
      }
      if (accepted.kind === "duplicate") {
        await finishProcessed(ctx, item.channelId, activity.id, publisher);
        return { kind: "ok" };
      }
      // The channel moved under the change: its current epoch is read again for the Reject.
      return rejectSubmission(
        ctx,
        item,
        activity,
        { summary: accepted.detail, reason: decision.conflictReason },
        publisher,
        await ctx.store.channel(item.channelId),
      );
    }
    return rejectSubmission(
      ctx,
      item,
      activity,
      { summary: decision.summary, reason: decision.reason },
      publisher,
      channel,
    );
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    ctx.logger.warn(
      { ...log, err: error instanceof TransientFailure ? undefined : error, reason },
      "channel activity will be retried",
    );
    return { kind: "retry", reason };
  }
}

type Publisher = (channelId: string, activityId: string, deliveries: DeliveryRequest[]) => Promise<void>;

/** Publishes an activity's delivery requests and then notes that they went out. */
function publisherFor(ctx: ChannelSequencerContext, headers: Record<string, string>): Publisher {
  const traceparent = headers.traceparent;
  const carried = traceparent === undefined ? undefined : { traceparent };
  return async (channelId, activityId, deliveries) => {
    if (deliveries.length > 0) {
      await ctx.bus.publish(
        deliveryRequestsTopic.name,
        deliveries.map((request) =>
          deliveryRequestsTopic.message(deliveryRequestKey(request), request, carried),
        ),
      );
    }
    await ctx.store.markPublished(channelId, activityId);
  };
}

/** True when the activity was processed before; publishes its answer again only if that never went out. */
async function finishProcessed(
  ctx: ChannelSequencerContext,
  channelId: string,
  activityId: string,
  publish: Publisher,
): Promise<boolean> {
  const prior = await ctx.store.processed(channelId, activityId);
  if (prior === undefined) return false;
  if (!prior.published) await publish(channelId, activityId, prior.deliveries);
  return true;
}

async function rejectSubmission(
  ctx: ChannelSequencerContext,
  item: ChannelInboxItem,
  activity: { id: string; type: string },
  refusal: { summary: string; reason: string | undefined },
  publish: Publisher,
  channel: { epoch: number } | undefined,
): Promise<HandlerOutcome | PendingOutcome> {
  // A refused Create has no channel to speak for it: the provider's instance actor answers.
  const answerer = channel === undefined ? ctx.urls.instanceActor : ctx.urls.channel(item.channelId);
  const { summary, reason } = refusal;
  const rejected = rejectActivity({
    id: activityIdUnder(ctx, answerer),
    actor: answerer,
    activityId: activity.id,
    submitter: item.authenticatedActor,
    currentEpoch: channel?.epoch,
    summary,
  });
  // The machine-readable reason, for the kinds that give one (a key update's refusals).
  const answer = reason === undefined ? rejected : { ...rejected, "mimi:reason": reason };
  const deliveries = [request(ctx, answer, answerer, [item.authenticatedActor])];
  const recorded = await ctx.store.reject({ channelId: item.channelId, activityId: activity.id, deliveries });
  if (!recorded) {
    await finishProcessed(ctx, item.channelId, activity.id, publish);
    return { kind: "ok" };
  }
  ctx.logger.info(
    {
      channelId: item.channelId,
      activityId: activity.id,
      type: activity.type,
      summary,
      reason,
      currentEpoch: channel?.epoch,
    },
    "channel activity rejected",
  );
  return pendingOutcome(publish(item.channelId, activity.id, deliveries).then(settledOk));
}

const settledOk = (): HandlerOutcome => ({ kind: "ok" });

/**
 * After acceptance: the activity as submitted with `mimi:sequence` (its log sequence number, so members
 * notice gaps and fetch them from the log), signed by the channel, to the followers after the change
 * (and, for a Remove, the removed actor), then the Accept to the submitter.
 */
function acceptanceDeliveries(
  ctx: ChannelSequencerContext,
  item: ChannelInboxItem,
  activity: Record<string, unknown> & { id: string },
  change: ChannelChange,
  state: AcceptedState,
): DeliveryRequest[] {
  const channelUrl = ctx.urls.channel(item.channelId);
  const audience = [...state.followers];
  const removed = referenceId(activity.object);
  if (
    change.kind === "commit" &&
    activity.type === "Remove" &&
    removed !== undefined &&
    !audience.includes(removed)
  ) {
    audience.push(removed);
  }
  // The leaver is no longer a follower; their copy tells their other devices they left.
  // A deleted account has no devices left to tell.
  if (change.kind === "leave" && activity.type !== "Delete" && !audience.includes(change.submitter))
    audience.push(change.submitter);
  const accept = acceptActivity({
    id: activityIdUnder(ctx, channelUrl),
    channelUrl,
    activityId: activity.id,
    submitter: item.authenticatedActor,
    epoch: state.epoch,
    sequence: state.sequence,
  });
  return [
    request(ctx, sequencedActivity(activity, state.sequence), channelUrl, audience),
    request(ctx, accept, channelUrl, [item.authenticatedActor]),
  ];
}

function request(
  ctx: ChannelSequencerContext,
  activity: Record<string, unknown> & { id: string },
  signAs: string,
  audience: string[],
): DeliveryRequest {
  return {
    activityId: activity.id,
    activity,
    signAs,
    audience,
    exclude: [],
    requestedAt: ctx.now().toISOString(),
  };
}

/** Accept/Reject ids are minted under the answering actor: `C/activities/<uuid>`. */
function activityIdUnder(ctx: ChannelSequencerContext, actorUrl: string): string {
  return `${actorUrl}/activities/${ctx.newId()}`;
}

import type { PendingChange } from "../account-store.js";
import { type Activity, idOf, numberField, stringField } from "../activities.js";
import type { ClientEvent } from "../client-types.js";
import type { AccountContext } from "../context.js";
import { rebuildChange } from "../conversation/commits.js";
import { ConversationSession } from "../conversation/session.js";
import { errorText } from "../errors.js";
import type { ChannelOrder } from "./channel-order-port.js";

/**
 * The channel's answers (Accept, Reject) to what we submitted: our channel creation, our pending
 * commit, a rename or role change, a message. The delivery check (`delivery.ts`) has made sure the
 * channel itself sent the answer.
 */

export async function applyVerdict(
  order: ChannelOrder,
  ctx: AccountContext,
  channelUrl: string,
  activity: Activity,
  type: "Accept" | "Reject",
  events: ClientEvent[],
): Promise<void> {
  const objectId = idOf(activity.object);
  const session = await ConversationSession.byUrl(ctx, channelUrl);
  if (!session || !objectId) {
    events.push({
      type: "skipped",
      activityId: stringField(activity, "id") ?? "(no id)",
      reason: `${type} for an unknown channel`,
    });
    return;
  }
  const record = session.record;
  const sequence = numberField(activity, "mimi:sequence");
  // Our accepted submission holds this place in the log; later entries may pass it.
  const passOwn = async () => {
    if (type === "Accept" && sequence !== undefined) await order.passOwnEntry(session, sequence, events);
  };
  const reason = stringField(activity, "summary") ?? "no reason given";
  if (record.createActivityId === objectId) {
    await session.settleCreate(type === "Accept", objectId, reason, events);
    await passOwn();
    return;
  }
  if (record.pending?.activityId === objectId) {
    if (type === "Accept") await session.mergePending(events);
    else await retryPending(order, session, reason, events);
    await passOwn();
    return;
  }
  const change = session.takeSubmitted(objectId);
  if (change) {
    // A refused rename was shown at once: the channel keeps its name.
    if (type === "Reject" && change.previousName !== undefined) record.name = change.previousName;
    events.push(
      type === "Accept"
        ? { type: "accepted", channel: session.summary(), activityId: objectId, what: change.what }
        : {
            type: "rejected",
            channel: session.summary(),
            activityId: objectId,
            what: change.what,
            reason,
            retried: false,
          },
    );
    await session.save();
    await passOwn();
    return;
  }
  // Our recent messages are listed as unanswered; only an answer to an older one needs the history.
  const ours =
    session.takeUnanswered(objectId) ||
    (await ctx.store.loadMessages(record.id)).some((m) => m.activityId === objectId && m.direction === "out");
  if (ours) {
    await ctx.store.setMessageStatus(record.id, objectId, type === "Accept" ? "accepted" : "rejected");
    if (type === "Reject")
      events.push({
        type: "rejected",
        channel: session.summary(),
        activityId: objectId,
        what: "message",
        reason,
        retried: false,
      });
  }
  await session.save();
  await passOwn();
}

/**
 * The channel rejected our commit (usually: another commit won the epoch). Catch up from the
 * channel's log, rebuild the same change on the current epoch and submit it once more. A second
 * Reject is reported and not retried.
 */
async function retryPending(
  order: ChannelOrder,
  session: ConversationSession,
  reason: string,
  events: ClientEvent[],
): Promise<void> {
  const record = session.record;
  const pending = record.pending as PendingChange;
  delete record.pending;
  const rejected = (retried: boolean, why = reason): ClientEvent => {
    // A key update the channel refuses for good is not tried again by itself before its next turn.
    if (!retried && pending.kind === "update")
      record.keyUpdate = { at: session.ctx.now().toISOString(), messages: 0, refused: why };
    return {
      type: "rejected",
      channel: session.summary(),
      activityId: pending.activityId,
      what: pending.kind,
      reason: why,
      retried,
    };
  };
  if (pending.attempts >= 2) {
    events.push(rejected(false));
    await session.save();
    return;
  }
  await order.catchUp(session, events);
  if (!session.active || !record.state) {
    events.push(rejected(false));
    await session.save();
    return;
  }
  const activity = await rebuildChange(session, pending);
  if (!activity) {
    // Someone else already made the same change: nothing is left to do.
    events.push(rejected(false));
    await session.save();
    return;
  }
  await session.save();
  try {
    await session.post(activity);
    events.push(rejected(true));
  } catch (error) {
    delete record.pending;
    events.push(rejected(false, `${reason}; resubmitting failed: ${errorText(error)}`));
    await session.save();
  }
}

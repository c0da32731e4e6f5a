import { encryptApplicationMessage, fromWireObject, processIncoming } from "@mimi/mls";
import type { StoredMessage } from "../account-store.js";
import { type Activity, actorIdOf, messageActivity, stringField } from "../activities.js";
import type { ClientEvent } from "../client-types.js";
import { createTextContent, encodeContent } from "../content.js";
import { credentialNames } from "../credential-validation.js";
import { checkReceivedContent } from "./received-content.js";
import type { ConversationSession } from "./session.js";

/** A conversation's application messages: encrypting ours, decrypting and checking theirs. */

/** Encrypts `text` on the current epoch and stores it as sent; the caller posts `activity`. */
export async function encryptMessage(
  session: ConversationSession,
  text: string,
  options: { inReplyTo?: string } = {},
): Promise<{ activity: Activity & { id: string }; message: StoredMessage }> {
  const { ctx, record } = session;
  const state = session.state();
  const content = createTextContent({
    senderUri: ctx.account.acct,
    roomUri: record.url,
    text,
    ...(options.inReplyTo ? { inReplyTo: options.inReplyTo } : {}),
  });
  const encrypted = await encryptApplicationMessage(state, ctx.cs, encodeContent(content));
  const activity = messageActivity(ctx.account.actor, record.url, encrypted.message);
  // The ratchet moved: the state is saved before anything leaves, so no key is ever used twice.
  session.adopt(encrypted.newState);
  session.markSeen(activity.id);
  record.unanswered = [...(record.unanswered ?? []), activity.id];
  await session.save();
  const message: StoredMessage = {
    id: content.id,
    activityId: activity.id,
    channelId: record.id,
    senderUri: content.senderUri,
    actor: ctx.account.actor,
    timestamp: content.timestamp,
    receivedAt: ctx.now().toISOString(),
    contentType: content.contentType,
    content: content.content,
    ...(content.inReplyTo ? { inReplyTo: content.inReplyTo } : {}),
    direction: "out",
    status: "sent",
    epoch: record.epoch,
  };
  await ctx.store.appendMessage(record.id, message);
  return { activity, message };
}

/**
 * Decrypts a message the channel forwarded and stores it when it passes `checkReceivedContent`.
 * "behind" (only when `mayCatchUp`) when it is for a later epoch: nothing changed; after catching
 * up from the log, receive it again with `mayCatchUp` false.
 */
export async function receiveMessage(
  session: ConversationSession,
  activity: Activity,
  events: ClientEvent[],
  mayCatchUp: boolean,
): Promise<"behind" | undefined> {
  const { ctx, record } = session;
  const id = stringField(activity, "id") as string;
  if (!session.active) return;
  const wire = fromWireObject(activity.object, "PrivateMessage");
  if (!wire.ok) {
    events.push({ type: "skipped", activityId: id, reason: `bad message: ${wire.detail}` });
    return;
  }
  const processed = await processIncoming(session.state(), ctx.cs, wire.bytes);
  if (!processed.ok && processed.reason === "futureEpoch" && mayCatchUp) return "behind";
  if (!processed.ok || processed.kind !== "application") {
    events.push({
      type: "skipped",
      activityId: id,
      reason: processed.ok ? "not an application message" : `cannot decrypt: ${processed.detail}`,
    });
    return;
  }
  // The ratchet moved, whatever the plaintext turns out to be.
  session.adopt(processed.newState);
  const checked = checkReceivedContent(
    processed.data,
    record.url,
    credentialNames(processed.sender.credential)?.acct,
  );
  if (!checked.ok) {
    events.push({ type: "skipped", activityId: id, reason: checked.reason });
    return;
  }
  const { content, sender } = checked;
  const message: StoredMessage = {
    id: content.id,
    activityId: id,
    channelId: record.id,
    senderUri: sender,
    actor: record.actors[sender] ?? actorIdOf(activity),
    timestamp: content.timestamp,
    receivedAt: ctx.now().toISOString(),
    contentType: content.contentType,
    content: content.content,
    ...(content.inReplyTo ? { inReplyTo: content.inReplyTo } : {}),
    direction: "in",
    epoch: record.epoch,
  };
  await ctx.store.appendMessage(record.id, message);
  events.push({ type: "message", channel: session.summary(), message });
}

import { encryptApplicationMessage, fromWireObject, processIncoming } from "@mimi/mls";
import type { StoredMessage } from "../account-store.js";
import { type Activity, actorIdOf, messageActivity, stringField } from "../activities.js";
import type { ClientEvent } from "../client-types.js";
import { describeMimiContent, type MessageFacts } from "../content/interpret.js";
import {
  createContent,
  MAX_MIMI_CONTENT_BYTES,
  type NestedPart,
  sealContent,
} from "../content/mimi-content.js";
import { credentialNames } from "../credential-validation.js";
import { dmMessageActivity, type KnownDmGroup } from "../dm/activities.js";
import { MimiClientError } from "../errors.js";
import { handleOfAcct } from "../names.js";
import { mayReplace } from "./message-view.js";
import { checkReceivedContent } from "./received-content.js";
import type { ConversationSession } from "./session.js";

/** A conversation's application messages: encrypting ours, decrypting and checking theirs. */

/** What we send: a body, and the message it edits or deletes (`replaces`) or answers (`inReplyTo`). */
export interface OutgoingContent {
  body: NestedPart;
  replaces?: string;
  inReplyTo?: string;
}

function rememberAuthor(session: ConversationSession, id: string, senderUri: string) {
  session.record.authors = [...(session.record.authors ?? []), [id, senderUri]];
}

/**
 * Encodes `outgoing` as MIMI content, encrypts it on the current epoch and stores it as sent; the
 * caller posts `activity`. With `dm`, the group of a group DM: the message is addressed to its
 * participants (section 14.4) and waits for no answer, since no channel sees it.
 */
export async function encryptMessage(
  session: ConversationSession,
  outgoing: OutgoingContent,
  dm?: KnownDmGroup,
): Promise<{ activity: Activity & { id: string }; message: StoredMessage }> {
  const { ctx, record } = session;
  const content = createContent({ senderUri: ctx.account.acct, roomUri: record.url, ...outgoing });
  const { bytes, id } = sealContent(content);
  if (bytes.length > MAX_MIMI_CONTENT_BYTES)
    throw new MimiClientError(`the message is too long (at most ${MAX_MIMI_CONTENT_BYTES} bytes encoded)`);
  const state = session.state();
  const encrypted = await encryptApplicationMessage(state, ctx.cs, bytes);
  const activity = dm
    ? dmMessageActivity(ctx.account.actor, dm, encrypted.message)
    : messageActivity(ctx.account.actor, record.url, encrypted.message);
  // The ratchet moved: the state is saved before anything leaves, so no key is ever used twice.
  session.adopt(encrypted.newState);
  session.markSeen(activity.id);
  session.countMessage();
  if (!dm) record.unanswered = [...(record.unanswered ?? []), activity.id];
  rememberAuthor(session, id, ctx.account.acct);
  await session.save();
  const now = ctx.now();
  const message = storedMessage(
    { format: "mimi", ...describeMimiContent(content) },
    {
      id,
      activityId: activity.id,
      channelId: record.id,
      senderUri: ctx.account.acct,
      actor: ctx.account.actor,
      timestamp: now.getTime(),
      receivedAt: now.toISOString(),
      direction: "out",
      status: "sent",
      epoch: record.epoch,
    },
  );
  await ctx.store.appendMessage(record.id, message);
  return { activity, message };
}

type Envelope = Omit<StoredMessage, keyof MessageFacts>;

function storedMessage(facts: MessageFacts, envelope: Envelope): StoredMessage {
  const { id, activityId, channelId, senderUri, actor, timestamp, receivedAt, direction, status, epoch } =
    envelope;
  return {
    id,
    activityId,
    channelId,
    senderUri,
    actor,
    timestamp,
    receivedAt,
    kind: facts.kind,
    format: facts.format,
    contentType: facts.contentType,
    content: facts.content,
    ...(facts.unsupported ? { unsupported: facts.unsupported } : {}),
    ...(facts.inReplyTo !== undefined ? { inReplyTo: facts.inReplyTo } : {}),
    ...(facts.replaces !== undefined ? { replaces: facts.replaces } : {}),
    direction,
    ...(status ? { status } : {}),
    epoch,
  };
}

/**
 * Why an arriving message is not stored although it decrypted and passed `checkReceivedContent`:
 * an id seen already (the draft says to discard it), or an edit or deletion of a message someone
 * else wrote. Only the latest MAX_KNOWN_AUTHORS messages are known here; `messageView` checks the
 * authorship of an edit of an older message when it shows the log.
 */
function refusalOf(session: ConversationSession, id: string, sender: string, facts: MessageFacts) {
  const authors = new Map(session.record.authors ?? []);
  if (authors.has(id)) return "a message with this id arrived already";
  if ((facts.kind === "edit" || facts.kind === "delete") && facts.replaces !== undefined) {
    const author = authors.get(facts.replaces);
    if (author !== undefined && !mayReplace(author, sender))
      return `${handleOfAcct(sender)} may not ${facts.kind} a message of ${handleOfAcct(author)}`;
  }
  return undefined;
}

/**
 * Decrypts a message the channel forwarded and stores it when it passes `checkReceivedContent` and
 * `refusalOf` (and `senderCheck`, given the sender from the MLS credential, when there is one: a
 * group DM's). "behind" (only when `mayCatchUp`) when it is for a later epoch: nothing changed;
 * after catching up from the log, receive it again with `mayCatchUp` false.
 */
export async function receiveMessage(
  session: ConversationSession,
  activity: Activity,
  events: ClientEvent[],
  mayCatchUp: boolean,
  senderCheck?: (sender: string) => string | undefined,
): Promise<"behind" | undefined> {
  const { ctx, record } = session;
  const id = stringField(activity, "id") as string;
  if (!session.active) return;
  const wire = fromWireObject(activity.object, "PrivateMessage");
  if (!wire.ok) {
    events.push(session.skipped(id, `bad message: ${wire.detail}`));
    return;
  }
  const processed = await processIncoming(session.state(), ctx.cs, wire.bytes);
  if (!processed.ok && processed.reason === "futureEpoch" && mayCatchUp) return "behind";
  if (!processed.ok || processed.kind !== "application") {
    events.push(
      session.skipped(
        id,
        processed.ok ? "not an application message" : `cannot decrypt: ${processed.detail}`,
      ),
    );
    return;
  }
  // The ratchet moved, whatever the plaintext turns out to be.
  session.adopt(processed.newState);
  const checked = checkReceivedContent(
    processed.data,
    record.url,
    credentialNames(processed.sender.credential)?.acct,
    id,
  );
  if (!checked.ok) {
    events.push(session.skipped(id, checked.reason));
    return;
  }
  const { sender, facts } = checked;
  const refusal = senderCheck?.(sender) ?? refusalOf(session, checked.id, sender, facts);
  if (refusal) {
    events.push(session.skipped(id, refusal));
    return;
  }
  rememberAuthor(session, checked.id, sender);
  session.countMessage();
  const now = ctx.now();
  const message = storedMessage(facts, {
    id: checked.id,
    activityId: id,
    channelId: record.id,
    senderUri: sender,
    actor: record.actors[sender] ?? actorIdOf(activity),
    timestamp: checked.timestamp ?? now.getTime(),
    receivedAt: now.toISOString(),
    direction: "in",
    epoch: record.epoch,
  });
  await ctx.store.appendMessage(record.id, message);
  events.push({ type: "message", channel: session.summary(), message });
}

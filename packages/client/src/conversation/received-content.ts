import { createHash } from "node:crypto";
import { describePlaintext, type MessageFacts, readPlaintext } from "../content/interpret.js";
import { messageIdOf } from "../content/mimi-content.js";
import { handleOfAcct } from "../names.js";

/**
 * When a decrypted message is shown, and as what. Pure.
 *
 * The sender is always the member whose signature MLS verified: content that names another sender
 * or another channel is refused. MIMI content's id is derived from that sender, this channel and
 * the bytes (so no sender picks it). Plain text and unreadable bytes, which carry no id, get one
 * derived from the channel's activity id, the same for every member.
 */
export type ReceivedContent =
  | { ok: true; id: string; sender: string; facts: MessageFacts; timestamp?: number }
  | { ok: false; reason: string };

/** The id of a plaintext that carries none: SHA-256 of the activity that brought it, hex. */
export const activityMessageId = (activityId: string) =>
  createHash("sha256").update(`mimi-client:activity:${activityId}`).digest("hex");

/**
 * `verifiedSender` is the account the credential of the MLS sending leaf names (undefined when it
 * names none): the sender shown is that member, whatever the plaintext claims.
 */
export function checkReceivedContent(
  plaintext: Uint8Array,
  channelUrl: string,
  verifiedSender: string | undefined,
  activityId: string,
): ReceivedContent {
  const read = readPlaintext(plaintext);
  if (!read.ok) return { ok: false, reason: read.detail };
  const claimed =
    read.plaintext.format === "mimi" || read.plaintext.format === "json"
      ? { sender: read.plaintext.content.senderUri, room: read.plaintext.content.roomUri }
      : {};
  // A message copied from another channel must not show up here.
  if (claimed.room !== undefined && claimed.room !== channelUrl)
    return { ok: false, reason: "the message names another channel" };
  if (verifiedSender === undefined) return { ok: false, reason: "the sender's credential names no account" };
  if (claimed.sender !== undefined && claimed.sender !== verifiedSender)
    return {
      ok: false,
      reason: `a message claiming to come from ${handleOfAcct(claimed.sender)} was sent by ${handleOfAcct(verifiedSender)}; not shown`,
    };
  const facts = describePlaintext(read.plaintext);
  switch (read.plaintext.format) {
    case "mimi":
      return {
        ok: true,
        id: messageIdOf(verifiedSender, channelUrl, plaintext, read.plaintext.content.salt),
        sender: verifiedSender,
        facts,
      };
    case "json":
      return {
        ok: true,
        id: read.plaintext.content.id,
        sender: verifiedSender,
        facts,
        timestamp: read.plaintext.content.timestamp,
      };
    default:
      return { ok: true, id: activityMessageId(activityId), sender: verifiedSender, facts };
  }
}

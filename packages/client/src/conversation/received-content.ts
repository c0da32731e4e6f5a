import { type MimiContent, parseContent } from "../content.js";
import { handleOfAcct } from "../names.js";

/**
 * When a decrypted message is shown: it is well-formed content for this very channel, and it names
 * as its sender the member whose signature MLS verified. Pure.
 */
export type ReceivedContent =
  | { ok: true; content: MimiContent; sender: string }
  | { ok: false; reason: string };

/**
 * `verifiedSender` is the account the credential of the MLS sending leaf names (undefined when it
 * names none): the sender shown is that member, whatever the plaintext claims.
 */
export function checkReceivedContent(
  plaintext: Uint8Array,
  channelUrl: string,
  verifiedSender: string | undefined,
): ReceivedContent {
  const parsed = parseContent(plaintext);
  if (!parsed.ok) return { ok: false, reason: parsed.detail };
  // A message copied from another channel must not show up here.
  if (parsed.content.roomUri !== channelUrl)
    return { ok: false, reason: "the message names another channel" };
  if (verifiedSender === undefined) return { ok: false, reason: "the sender's credential names no account" };
  if (parsed.content.senderUri !== verifiedSender)
    return {
      ok: false,
      reason: `a message claiming to come from ${handleOfAcct(parsed.content.senderUri)} was sent by ${handleOfAcct(verifiedSender)}; not shown`,
    };
  return { ok: true, content: parsed.content, sender: verifiedSender };
}

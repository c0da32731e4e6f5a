import type { StoredMessage } from "../account-store.js";
import { isSimpleReaction } from "../content/interpret.js";
import { isMessageId } from "../content/mimi-content.js";

/**
 * What a channel's message log shows: each message once, with its latest accepted text, its
 * earlier versions, whether it was deleted and the reactions to it. The log keeps every line as it
 * arrived (edits, deletions and reactions included); this view is computed from it. Pure.
 *
 * An edit or deletion counts only when its sender (the member MLS verified) is the sender of the
 * message it replaces (the draft's "Rendering and authorization of edits and deletes"); a
 * reaction's withdrawal or change, only when it is the reaction's sender's. One whose target is
 * not in the log (sent before we joined) is shown as it is. An id seen before is ignored, and so
 * is one of our own edits, deletions or reactions that the channel refused.
 */

export interface Reaction {
  id: string;
  senderUri: string;
  reaction: string;
  timestamp: number;
}

export interface EarlierVersion {
  contentType: string;
  content: string;
  unsupported?: { size: number };
  /** When this version was sent (or, for the first, the message). */
  timestamp: number;
}

export interface ChannelMessage extends StoredMessage {
  reactions: Reaction[];
  /** The texts this message had before its edits, oldest first; `content` is the latest. */
  versions: EarlierVersion[];
  /** When it was last edited. */
  editedAt?: number;
  /** When its sender deleted it: `content` and `versions` are then empty, `editedAt` absent. */
  deletedAt?: number;
}

/** Only the author may edit or delete a message: no other policy gives that right here. */
export const mayReplace = (authorUri: string, editorUri: string) => authorUri === editorUri;

function replaceContent(target: ChannelMessage, edit: StoredMessage) {
  target.versions.push({
    contentType: target.contentType,
    content: target.content,
    ...(target.unsupported ? { unsupported: target.unsupported } : {}),
    timestamp: target.editedAt ?? target.timestamp,
  });
  target.contentType = edit.contentType;
  target.content = edit.content;
  if (edit.unsupported) target.unsupported = edit.unsupported;
  else delete target.unsupported;
  target.editedAt = edit.timestamp;
}

function deleteContent(target: ChannelMessage, deletion: StoredMessage) {
  target.content = "";
  target.versions = [];
  delete target.unsupported;
  delete target.editedAt;
  target.deletedAt = deletion.timestamp;
}

export function messageView(log: readonly StoredMessage[]): ChannelMessage[] {
  const shown: ChannelMessage[] = [];
  const targets = new Map<string, ChannelMessage>();
  const reactions = new Map<string, { on: ChannelMessage; reaction: Reaction }>();
  const seen = new Set<string>();
  for (const entry of log) {
    if (seen.has(entry.id)) continue;
    seen.add(entry.id);
    const kind = entry.kind ?? "message";
    const applies = entry.status !== "rejected";
    if ((kind === "edit" || kind === "delete") && entry.replaces !== undefined) {
      const target = targets.get(entry.replaces);
      if (target) {
        if (applies && mayReplace(target.senderUri, entry.senderUri) && target.deletedAt === undefined) {
          if (kind === "delete") deleteContent(target, entry);
          else replaceContent(target, entry);
        }
        continue;
      }
      const reacted = reactions.get(entry.replaces);
      if (reacted) {
        if (applies && mayReplace(reacted.reaction.senderUri, entry.senderUri)) {
          if (kind === "delete" || entry.unsupported || !isSimpleReaction(entry.content)) {
            reacted.on.reactions = reacted.on.reactions.filter((r) => r !== reacted.reaction);
            reactions.delete(entry.replaces);
          } else reacted.reaction.reaction = entry.content;
        }
        continue;
      }
    }
    if (kind === "reaction" && entry.inReplyTo !== undefined) {
      const on = targets.get(entry.inReplyTo);
      if (on && !entry.unsupported && isSimpleReaction(entry.content)) {
        if (applies) {
          const reaction = {
            id: entry.id,
            senderUri: entry.senderUri,
            reaction: entry.content,
            timestamp: entry.timestamp,
          };
          on.reactions.push(reaction);
          reactions.set(entry.id, { on, reaction });
        }
        continue;
      }
    }
    const message: ChannelMessage = { ...entry, reactions: [], versions: [] };
    shown.push(message);
    if (kind === "message" || kind === "reaction") targets.set(entry.id, message);
  }
  return shown;
}

export type MessageLookup = { ok: true; message: ChannelMessage } | { ok: false; reason: string };

/** The shortest prefix of a message id accepted as a reference to it. */
export const MIN_ID_PREFIX = 4;

/**
 * A message id as people see and type it: a MIMI content id without its first byte, `01`, which names
 * the hash (SHA-256) and is the same in every id, so a short id shows hash digits only.
 */
export function visibleMessageId(id: string): string {
  return isMessageId(id) && id.startsWith("01") ? id.slice(2) : id;
}

/**
 * A shown message by a unique prefix (at least MIN_ID_PREFIX hex digits) of its visible id
 * (`visibleMessageId`, as the CLI shows it) or of its whole id; `channelName` names the channel in the
 * reasons.
 */
export function findMessage(
  view: readonly ChannelMessage[],
  reference: string,
  channelName?: string,
): MessageLookup {
  const prefix = reference.trim().toLowerCase();
  if (!new RegExp(`^[0-9a-f]{${MIN_ID_PREFIX},64}$`).test(prefix))
    return {
      ok: false,
      reason: `${reference} is not a message id (${MIN_ID_PREFIX} or more hex digits, as mimi read shows them)`,
    };
  // A prefix of the whole id is taken too: ids shown or saved before the visible form still work.
  const matches = view.filter(
    (message) => visibleMessageId(message.id).startsWith(prefix) || message.id.startsWith(prefix),
  );
  const [only] = matches;
  if (matches.length === 1 && only) return { ok: true, message: only };
  const where = channelName === undefined ? "" : ` in ${channelName}`;
  return {
    ok: false,
    reason:
      matches.length === 0
        ? `no message ${reference}${where}`
        : `${reference} is the start of ${matches.length} message ids${where}; give more of it`,
  };
}

/** How many hex digits of their visible ids (at least `minimum`) tell every one of `ids` apart. */
export function shortIdLength(ids: readonly string[], minimum = 8): number {
  const visible = ids.map(visibleMessageId);
  for (let length = minimum; length < 64; length++) {
    const prefixes = new Set(visible.map((id) => id.slice(0, length)));
    if (prefixes.size === new Set(ids).size) return length;
  }
  return 64;
}

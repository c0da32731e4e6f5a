import {
  type ChangeKind,
  type ChannelMessage,
  type ChannelSummary,
  type ClientEvent,
  type MailboxItem,
  type StoredMessage,
  shortIdLength,
  visibleMessageId,
} from "@mimi/client";
import { joined, line, messageBody, type TerminalText } from "./terminal.js";

/**
 * How the CLI shows things: one line per fact, channels as `#name`, people as `user@domain`. Every
 * function takes the raw values and escapes them (see terminal.ts); none returns a plain string.
 */
/** `#general`, or for a group DM its participants: `dm:alice@a.test,bob@b.test`. */
export const channelLabel = (channel: Pick<ChannelSummary, "name"> & Pick<Partial<ChannelSummary>, "dm">) =>
  channel.dm
    ? line`dm:${channel.dm.participants.map((acct) => acct.replace(/^acct:/, "")).join(",")}`
    : line`#${channel.name}`;

export const person = (acctOrActor: string) => line`${acctOrActor.replace(/^acct:/, "")}`;

/**
 * `2024-05-01 12:00` in UTC, so output does not depend on the machine's zone. A timestamp is the
 * sender's word: one outside years 0000-9999 is shown as `????-??-?? ??:??` rather than failing.
 */
export function shortTime(ms: number): string {
  const date = new Date(ms);
  const iso = Number.isNaN(date.getTime()) ? "" : date.toISOString();
  // Years 0000-9999 give `YYYY-MM-DDTHH:MM:SS.sssZ`; others a longer `+YYYYYY-...` form.
  return iso.length === 24 ? iso.slice(0, 16).replace("T", " ") : "????-??-?? ??:??";
}

/** How many hex digits of a message id are shown when nothing asks for more (see `shortIdLength`). */
export const SHORT_ID = 8;

/**
 * A message id as shown, short enough to read and type (`mimi reply general 1a2b3c4d ...`): the start
 * of its visible id, hash digits only (not the `01` every MIMI content id starts with).
 */
export const shortId = (id: string, length = SHORT_ID) => line`${visibleMessageId(id).slice(0, length)}`;

const MEDIA_TYPE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+$/;

/**
 * A media type as shown: its `type/subtype` when it is one, otherwise the sender's string quoted as
 * JSON, so that it cannot pass for the punctuation around it.
 */
function mediaTypeLabel(contentType: string): string {
  const base = contentType.split(";")[0]?.trim() ?? "";
  return MEDIA_TYPE.test(base) ? base : JSON.stringify(contentType);
}

/** What a stored message or an arriving edit, deletion or reaction says before its text. */
function messageMarks(message: StoredMessage | ChannelMessage, idLength: number): TerminalText[] {
  const marks: TerminalText[] = [];
  const ref = (id: string | undefined) => shortId(id ?? "", idLength);
  switch (message.kind ?? "message") {
    case "edit":
      marks.push(line`edit of ${ref(message.replaces)}`);
      break;
    case "delete":
      marks.push(line`deletes ${ref(message.replaces)}`);
      break;
    case "reaction":
      marks.push(line`reaction to ${ref(message.inReplyTo)}`);
      break;
    default:
      if (message.inReplyTo !== undefined) marks.push(line`reply to ${ref(message.inReplyTo)}`);
  }
  if ("editedAt" in message && message.editedAt !== undefined) marks.push(line`edited`);
  if ("deletedAt" in message && message.deletedAt !== undefined) marks.push(line`deleted`);
  else if (message.unsupported)
    marks.push(
      line`unsupported content: ${mediaTypeLabel(message.contentType)}, ${message.unsupported.size} bytes`,
    );
  if (message.status === "rejected") marks.push(line`not delivered`);
  return marks;
}

/**
 * One message: `#general [2025-01-01 12:00] 1a2b3c4d bob@b.test (reply to 9f8e7d6c): text`. What
 * this client says about it is in parentheses before the colon, and only the sender's text after
 * it; a deletion, unsupported content and a withdrawal have no text. Further lines of the text are
 * indented (see `messageBody`).
 */
export function messageLine(
  channel: Pick<ChannelSummary, "name"> & Pick<Partial<ChannelSummary>, "dm">,
  message: StoredMessage | ChannelMessage,
  idLength = SHORT_ID,
): TerminalText {
  const marks = messageMarks(message, idLength);
  const head = line`${channelLabel(channel)} [${shortTime(message.timestamp)}] ${shortId(message.id, idLength)} ${person(message.senderUri)}${marks.length > 0 ? line` (${joined(marks, ", ")})` : ""}`;
  const hasText =
    message.kind !== "delete" &&
    !message.unsupported &&
    !("deletedAt" in message && message.deletedAt !== undefined);
  return hasText ? line`${head}: ${messageBody(message.content)}` : head;
}

/** `#general reactions to 1a2b3c4d: 👍 bob@b.test, ❤ alice@a.test`, or nothing without reactions. */
export function reactionsLine(
  channel: Pick<ChannelSummary, "name"> & Pick<Partial<ChannelSummary>, "dm">,
  message: ChannelMessage,
  idLength = SHORT_ID,
): TerminalText | undefined {
  if (message.reactions.length === 0) return undefined;
  const each = message.reactions.map((reaction) => line`${reaction.reaction} ${person(reaction.senderUri)}`);
  return line`${channelLabel(channel)} reactions to ${shortId(message.id, idLength)}: ${joined(each, ", ")}`;
}

/**
 * A conversation's messages as `mimi read` prints them, each with as many digits of its id as tell
 * them apart and its reactions on a line after it; one line saying so when there are none.
 */
export function messageListLines(
  channel: Pick<ChannelSummary, "name"> & Pick<Partial<ChannelSummary>, "dm">,
  messages: readonly ChannelMessage[],
): TerminalText[] {
  if (messages.length === 0) return [line`no messages in ${channelLabel(channel)} yet`];
  const idLength = shortIdLength(
    messages.map((message) => message.id),
    SHORT_ID,
  );
  return messages.flatMap((message) => {
    const reactions = reactionsLine(channel, message, idLength);
    return reactions
      ? [messageLine(channel, message, idLength), reactions]
      : [messageLine(channel, message, idLength)];
  });
}

/** A submitted change as people say it: `update` is a key update. */
export const changeLabel = (what: ChangeKind) => (what === "update" ? "key update" : what);

/** The line for one event, or undefined for the acknowledgement of our own message. */
export function eventLine(event: ClientEvent): TerminalText | undefined {
  switch (event.type) {
    case "message":
      return messageLine(event.channel, event.message);
    case "joined":
      return line`joined ${channelLabel(event.channel)} (added by ${event.by})  ${event.channel.url}`;
    case "member-added":
      return line`${channelLabel(event.channel)}: ${event.accts.length > 0 ? joined(event.accts.map(person), ", ") : event.actor} joined (added by ${event.by})`;
    case "member-removed":
      return line`${channelLabel(event.channel)}: ${event.actor} was removed (by ${event.by})`;
    case "renamed":
      return line`${channelLabel(event.channel)}: renamed by ${event.by}`;
    case "left":
      return event.voluntary
        ? line`you left ${channelLabel(event.channel)}`
        : line`${channelLabel(event.channel)}: you were removed by ${event.by}`;
    case "member-left":
      return line`${channelLabel(event.channel)}: ${event.actor} left`;
    case "role-changed":
      return line`${channelLabel(event.channel)}: ${event.actor} is now ${event.role === "admin" ? "an admin" : "a member"} (by ${event.by})`;
    case "accepted":
      return event.what === "message"
        ? undefined
        : line`${channelLabel(event.channel)}: ${changeLabel(event.what)} accepted${event.epoch === undefined ? "" : line` (epoch ${event.epoch})`}`;
    case "rejected":
      return line`${channelLabel(event.channel)}: ${changeLabel(event.what)} rejected: ${event.reason}${event.retried ? " (retrying on the current epoch)" : ""}`;
    case "keys-updated":
      return line`${channelLabel(event.channel)}: ${event.by} updated their keys (epoch ${event.channel.epoch})`;
    case "key-update-submitted":
      return line`${channelLabel(event.channel)}: updating your keys (due; epoch ${event.epoch} once accepted)`;
    case "skipped":
      return event.channel
        ? line`! ${channelLabel(event.channel)}: skipped ${event.activityId}: ${event.reason}`
        : line`! skipped ${event.activityId}: ${event.reason}`;
    default:
      // The client may report kinds of events this CLI does not know yet: shown, never dropped.
      return otherEventLine(event);
  }
}

/** `! <type> [#channel] [<activity id>][: <reason>]` for an event type without a line of its own. */
function otherEventLine(event: { type: string }): TerminalText {
  const fields = event as { type: string; channel?: unknown; activityId?: unknown; reason?: unknown };
  const channel = fields.channel;
  const channelName =
    typeof channel === "object" && channel !== null && "name" in channel && typeof channel.name === "string"
      ? line` ${channelLabel({ name: channel.name })}`
      : "";
  const activityId = typeof fields.activityId === "string" ? line` ${fields.activityId}` : "";
  const reason = typeof fields.reason === "string" ? line`: ${fields.reason}` : "";
  return line`! ${fields.type}${channelName}${activityId}${reason}`;
}

/**
 * `#general  active  epoch 3  <url>`; a channel this device is behind on says so, since when and
 * why: `#general  active, OUT OF SYNC since 2025-01-01 12:00 (cannot apply ...)  epoch 1  <url>`.
 */
export function channelLine(channel: ChannelSummary): TerminalText {
  const status =
    channel.status === "active" && channel.outOfSync
      ? line`active, OUT OF SYNC since ${shortTime(Date.parse(channel.outOfSync.since))} (${channel.outOfSync.reason})`
      : channel.status === "active" && channel.waiting
        ? "active, change pending"
        : channel.status === "left" || channel.status === "failed"
          ? line`${channel.status}${channel.note ? line` (${channel.note})` : ""}`
          : channel.status;
  return line`${channelLabel(channel)}  ${status}  epoch ${channel.epoch}  ${channel.url}`;
}

/** `! #general is out of sync: <reason> (tried again on every sync; mimi channels lists it)`. */
export function outOfSyncLine(channel: ChannelSummary): TerminalText | undefined {
  if (channel.status !== "active" || !channel.outOfSync) return undefined;
  return line`! ${channelLabel(channel)} is out of sync since ${shortTime(Date.parse(channel.outOfSync.since))}: ${channel.outOfSync.reason} (tried again on every sync)`;
}

export function inboxLine(item: MailboxItem): TerminalText {
  const activity = item.activity;
  const text = (value: unknown) =>
    typeof value === "string"
      ? value
      : typeof value === "object" && value !== null && typeof (value as { id?: unknown }).id === "string"
        ? (value as { id: string }).id
        : typeof value === "object" &&
            value !== null &&
            typeof (value as { type?: unknown }).type === "string"
          ? `{${(value as { type: string }).type}}`
          : "-";
  return line`${item.cursor}  ${text(activity.type)}  ${text(activity.actor)}  object=${text(activity.object)}  target=${text(activity.target)}  ${item.activityId}`;
}

import type { ChannelSummary, ClientEvent, MailboxItem, StoredMessage } from "@mimi/client";
import { joined, line, messageBody, type TerminalText } from "./terminal.js";

/**
 * How the CLI shows things: one line per fact, channels as `#name`, people as `user@domain`. Every
 * function takes the raw values and escapes them (see terminal.ts); none returns a plain string.
 */
export const channelLabel = (channel: Pick<ChannelSummary, "name">) => line`#${channel.name}`;

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

/** One message; its further lines, if any, are indented (see `messageBody`). */
export function messageLine(channel: Pick<ChannelSummary, "name">, message: StoredMessage): TerminalText {
  const flag = message.status === "rejected" ? " (not delivered)" : "";
  return line`${channelLabel(channel)} [${shortTime(message.timestamp)}] ${person(message.senderUri)}: ${messageBody(message.content)}${flag}`;
}

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
      return line`${channelLabel(event.channel)}: you were removed by ${event.by}`;
    case "role-changed":
      return line`${channelLabel(event.channel)}: ${event.actor} is now ${event.role === "admin" ? "an admin" : "a member"} (by ${event.by})`;
    case "accepted":
      return event.what === "message"
        ? undefined
        : line`${channelLabel(event.channel)}: ${event.what} accepted${event.epoch === undefined ? "" : line` (epoch ${event.epoch})`}`;
    case "rejected":
      return line`${channelLabel(event.channel)}: ${event.what} rejected: ${event.reason}${event.retried ? " (retrying on the current epoch)" : ""}`;
    case "skipped":
      return line`! skipped ${event.activityId}: ${event.reason}`;
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

export function channelLine(channel: ChannelSummary): TerminalText {
  const status =
    channel.status === "active" && channel.waiting
      ? "active, change pending"
      : channel.status === "left" || channel.status === "failed"
        ? line`${channel.status}${channel.note ? line` (${channel.note})` : ""}`
        : channel.status;
  return line`${channelLabel(channel)}  ${status}  epoch ${channel.epoch}  ${channel.url}`;
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

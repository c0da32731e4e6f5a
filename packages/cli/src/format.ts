import type { ChannelSummary, ClientEvent, MailboxItem, StoredMessage } from "@mimi/client";

/** How the CLI shows things: one line per fact, channels as `#name`, people as `user@domain`. */
export const channelLabel = (channel: Pick<ChannelSummary, "name">) => `#${channel.name}`;

export const person = (acctOrActor: string) => acctOrActor.replace(/^acct:/, "");

/** `2024-05-01 12:00` in UTC, so output does not depend on the machine's zone. */
export function shortTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}

export function messageLine(channel: Pick<ChannelSummary, "name">, message: StoredMessage): string {
  const flag = message.status === "rejected" ? " (not delivered)" : "";
  return `${channelLabel(channel)} [${shortTime(message.timestamp)}] ${person(message.senderUri)}: ${message.content}${flag}`;
}

export function eventLine(event: ClientEvent): string | undefined {
  switch (event.type) {
    case "message":
      return messageLine(event.channel, event.message);
    case "joined":
      return `joined ${channelLabel(event.channel)} (added by ${event.by})  ${event.channel.url}`;
    case "member-added":
      return `${channelLabel(event.channel)}: ${event.accts.map(person).join(", ") || event.actor} joined (added by ${event.by})`;
    case "member-removed":
      return `${channelLabel(event.channel)}: ${event.actor} was removed (by ${event.by})`;
    case "renamed":
      return `${channelLabel(event.channel)}: renamed by ${event.by}`;
    case "left":
      return `${channelLabel(event.channel)}: you were removed by ${event.by}`;
    case "accepted":
      return event.what === "message"
        ? undefined
        : `${channelLabel(event.channel)}: ${event.what} accepted${event.epoch === undefined ? "" : ` (epoch ${event.epoch})`}`;
    case "rejected":
      return `${channelLabel(event.channel)}: ${event.what} rejected: ${event.reason}${event.retried ? " (retrying on the current epoch)" : ""}`;
    case "skipped":
      return undefined;
  }
}

export function channelLine(channel: ChannelSummary): string {
  const status =
    channel.status === "active" && channel.waiting
      ? "active, change pending"
      : channel.status === "left" || channel.status === "failed"
        ? `${channel.status}${channel.note ? ` (${channel.note})` : ""}`
        : channel.status;
  return `${channelLabel(channel)}  ${status}  epoch ${channel.epoch}  ${channel.url}`;
}

export function inboxLine(item: MailboxItem): string {
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
  return `${item.cursor}  ${text(activity.type)}  ${text(activity.actor)}  object=${text(activity.object)}  target=${text(activity.target)}  ${item.activityId}`;
}

import { type ChannelSummary, isConversationReference, type MimiClient, type SyncResult } from "@mimi/client";
import { channelLabel, eventLine, inboxLine, messageListLines, outOfSyncLine, shortId } from "../format.js";
import type { Io } from "../io.js";
import { jsonLine, line } from "../terminal.js";
import { UsageError } from "../usage.js";
import { readDmCommand } from "./dm.js";
import { syncBeforeReading } from "./reading.js";

function printSync(io: Io, result: SyncResult) {
  for (const warning of result.warnings) io.err(line`mimi: warning: ${warning}`);
  let printed = 0;
  for (const event of result.events) {
    const eventText = eventLine(event);
    if (eventText) {
      io.out(eventText);
      printed += 1;
    }
  }
  return printed;
}

/** `mimi send <channel> <text...>`: syncs first, so the message is encrypted on the current epoch. */
export async function sendCommand(args: string[], io: Io, client: MimiClient) {
  const [reference, ...words] = args;
  if (!reference || words.length === 0) throw new UsageError("mimi send <channel> <text>");
  const message = await client.send(reference, words.join(" "));
  const channel = await client.channel(message.channelId);
  io.out(line`sent ${shortId(message.id)} to ${channelLabel(channel)}`);
  warnIfBehind(io, channel);
  return message;
}

/**
 * Sent while this device is behind the channel: the message went out on the epoch this device is at,
 * which members who joined since cannot open. Said on stderr, with the reason.
 */
function warnIfBehind(io: Io, channel: ChannelSummary) {
  const behind = outOfSyncLine(channel);
  if (behind)
    io.err(line`mimi: warning: sent on epoch ${channel.epoch}; members who joined since cannot read it`);
  if (behind) io.err(behind);
}

/** `mimi reply <channel> <message-id> <text...>`: a message answering another one. */
export async function replyCommand(args: string[], io: Io, client: MimiClient) {
  const [reference, messageId, ...words] = args;
  if (!reference || !messageId || words.length === 0)
    throw new UsageError("mimi reply <channel> <message-id> <text>");
  const message = await client.send(reference, words.join(" "), { inReplyTo: messageId });
  const channel = await client.channel(message.channelId);
  io.out(
    line`sent ${shortId(message.id)} to ${channelLabel(channel)} (reply to ${shortId(message.inReplyTo ?? "")})`,
  );
  warnIfBehind(io, channel);
}

/** `mimi edit <channel> <message-id> <text...>`: new text for one of your messages. */
export async function editCommand(args: string[], io: Io, client: MimiClient) {
  const [reference, messageId, ...words] = args;
  if (!reference || !messageId || words.length === 0)
    throw new UsageError("mimi edit <channel> <message-id> <text>");
  const message = await client.edit(reference, messageId, words.join(" "));
  const channel = await client.channel(message.channelId);
  io.out(line`edited ${shortId(message.replaces ?? "")} in ${channelLabel(channel)}`);
}

/** `mimi react <channel> <message-id> <reaction>`: a reaction (an emoji, say) to a message. */
export async function reactCommand(args: string[], io: Io, client: MimiClient) {
  const [reference, messageId, reaction, ...rest] = args;
  if (!reference || !messageId || !reaction || rest.length > 0)
    throw new UsageError("mimi react <channel> <message-id> <reaction>");
  const message = await client.react(reference, messageId, reaction);
  const channel = await client.channel(message.channelId);
  io.out(line`reacted ${reaction} to ${shortId(message.inReplyTo ?? "")} in ${channelLabel(channel)}`);
}

/** `mimi delete <channel> <message-id>`: deletes one of your messages for everyone. */
export async function deleteCommand(args: string[], io: Io, client: MimiClient) {
  const [reference, messageId, ...rest] = args;
  if (!reference || !messageId || rest.length > 0) throw new UsageError("mimi delete <channel> <message-id>");
  const message = await client.deleteMessage(reference, messageId);
  const channel = await client.channel(message.channelId);
  io.out(line`deleted ${shortId(message.replaces ?? "")} in ${channelLabel(channel)}`);
}

/**
 * `mimi read <channel>`: fetches what is new, then prints the channel's messages as they stand
 * (edits applied, deletions marked, reactions on a line after their message), each with as many
 * digits of its id as tell it apart. When the home server cannot be reached it says so and prints
 * what is stored.
 */
export async function readCommand(args: string[], io: Io, client: MimiClient) {
  const [reference] = args;
  if (!reference || args.length > 1)
    throw new UsageError("mimi read <channel | @user@domain[,user@domain...]>");
  // `@bob@b.test` or `acct:…` names a conversation; anything else (`#team`, `@team`) a channel.
  if (isConversationReference(reference)) return readDmCommand(reference, io, client);
  const events = await syncBeforeReading(io, client);
  const { channel, messages } = await client.messages(reference);
  // What of this channel could not be read, and whether messages wait behind it, comes first.
  for (const event of events) {
    if (event.type !== "skipped" || event.channel?.id !== channel.id) continue;
    const text = eventLine(event);
    if (text) io.err(text);
  }
  const behind = outOfSyncLine(channel);
  if (behind) io.err(behind);
  for (const text of messageListLines(channel, messages)) io.out(text);
}

/**
 * `mimi join` (also `mimi sync`): processes the mailbox: Welcomes, commits, messages. What could not
 * be used is printed with its reason, and every channel this device is behind on is named: "nothing
 * new" only when nothing is wrong either.
 */
export async function joinCommand(args: string[], io: Io, client: MimiClient) {
  if (args.length > 0) throw new UsageError("mimi join");
  const result = await client.sync();
  const printed = printSync(io, result);
  const behind = await printOutOfSync(io, client);
  if (printed === 0 && behind === 0) io.out(line`nothing new`);
}

/** One line per channel this device is out of sync on; returns how many. */
async function printOutOfSync(io: Io, client: MimiClient): Promise<number> {
  let printed = 0;
  for (const channel of await client.channels()) {
    const text = outOfSyncLine(channel);
    if (text) {
      io.out(text);
      printed += 1;
    }
  }
  return printed;
}

/** `mimi listen`: follows the mailbox live until interrupted. */
export async function listenCommand(args: string[], io: Io, client: MimiClient) {
  if (args.length > 0) throw new UsageError("mimi listen");
  printSync(io, await client.sync());
  io.err(line`listening (Ctrl-C to stop)`);
  await client.listen(
    (event) => {
      const eventText = eventLine(event);
      if (eventText) io.out(eventText);
    },
    {
      ...(io.interrupt ? { signal: io.interrupt } : {}),
      onWarning: (warning) => io.err(line`mimi: warning: ${warning}`),
    },
  );
}

/** `mimi inbox [--after <cursor>] [--json]`: the raw mailbox, without processing it. */
export async function inboxCommand(
  args: string[],
  io: Io,
  client: MimiClient,
  options: { after?: string; json?: boolean },
) {
  if (args.length > 0) throw new UsageError("mimi inbox [--after <cursor>] [--json]");
  const after = options.after === undefined ? 0 : Number(options.after);
  if (!Number.isSafeInteger(after) || after < 0)
    throw new UsageError("mimi inbox --after <cursor> (a number)");
  const items = await client.inbox({ after });
  if (items.length === 0) io.out(line`the mailbox is empty`);
  for (const item of items) io.out(options.json ? jsonLine(item) : inboxLine(item));
}

import type { MimiClient, SyncResult } from "@mimi/client";
import { channelLabel, eventLine, inboxLine, messageLine } from "../format.js";
import type { Io } from "../io.js";
import { jsonLine, line } from "../terminal.js";
import { UsageError } from "../usage.js";

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
  io.out(line`sent to ${channelLabel(channel)}`);
  return message;
}

/**
 * `mimi read <channel>`: fetches what is new, then prints the channel's messages. When the home
 * server cannot be reached it says so and prints what is stored.
 */
export async function readCommand(args: string[], io: Io, client: MimiClient) {
  const [reference] = args;
  if (!reference || args.length > 1) throw new UsageError("mimi read <channel>");
  try {
    const result = await client.sync();
    for (const warning of result.warnings) io.err(line`mimi: warning: ${warning}`);
  } catch (error) {
    io.err(
      line`mimi: warning: showing stored messages only: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const { channel, messages } = await client.messages(reference);
  if (messages.length === 0) io.out(line`no messages in ${channelLabel(channel)} yet`);
  for (const message of messages) io.out(messageLine(channel, message));
}

/** `mimi join` (also `mimi sync`): processes the mailbox: Welcomes, commits, messages. */
export async function joinCommand(args: string[], io: Io, client: MimiClient) {
  if (args.length > 0) throw new UsageError("mimi join");
  const result = await client.sync();
  if (printSync(io, result) === 0) io.out(line`nothing new`);
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

import { type MimiClient, splitParticipants } from "@mimi/client";
import { channelLabel, eventLine, messageListLines, shortId, shortTime } from "../format.js";
import type { Io } from "../io.js";
import { line } from "../terminal.js";
import { UsageError } from "../usage.js";
import { syncBeforeReading } from "./reading.js";

/**
 * Group DMs (docs/protocol.md section 14): a conversation is its participants, named on the command
 * line as `@bob@b.test` or `@bob@b.test,carol@c.test`.
 */

/**
 * `mimi dm <user@domain> [<user@domain>...] <text>`: sends to the conversation of exactly those
 * people and you; the first message starts it (its group on your provider, each participant added
 * and accepted in turn, each waiting up to --wait seconds).
 */
export async function dmCommand(args: string[], io: Io, client: MimiClient, waitSeconds: number) {
  const text = args.at(-1);
  const accts = args.slice(0, -1).flatMap(splitParticipants);
  if (text === undefined || accts.length === 0)
    throw new UsageError('mimi dm <user@domain> [<user@domain>...] "<text>"');
  const sent = await client.dm(accts, text, { timeoutMs: waitSeconds * 1000 });
  for (const event of sent.events) {
    const eventText = event.type === "rejected" ? eventLine(event) : undefined;
    if (eventText) io.err(eventText);
  }
  const channel = await client.channel(sent.message.channelId);
  io.out(
    line`${sent.started ? "started and sent" : "sent"} ${shortId(sent.message.id)} to ${channelLabel(channel)}`,
  );
}

/** `mimi dms`: your conversations, the latest first, each with its last message. */
export async function dmsCommand(args: string[], io: Io, client: MimiClient) {
  if (args.length > 0) throw new UsageError("mimi dms");
  const result = await client.sync();
  for (const warning of result.warnings) io.err(line`mimi: warning: ${warning}`);
  const conversations = await client.dms();
  if (conversations.length === 0) io.out(line`no conversations yet (start one with mimi dm)`);
  for (const conversation of conversations) {
    const last = conversation.lastMessage;
    const ready = conversation.sendingGroup === undefined ? " (being set up)" : "";
    io.out(
      last
        ? line`${conversation.label}${ready} [${shortTime(last.timestamp)}] ${last.senderUri.replace(/^acct:/, "")}: ${last.content}`
        : line`${conversation.label}${ready}: no messages yet`,
    );
  }
}

/** `mimi read @bob@b.test[,carol@c.test]`: fetches what is new, then prints the conversation. */
export async function readDmCommand(reference: string, io: Io, client: MimiClient) {
  const events = await syncBeforeReading(io, client);
  const { conversation, messages } = await client.readDm(splitParticipants(reference));
  const groups = new Set(conversation.groups.map((group) => group.id));
  for (const event of events) {
    if (event.type !== "skipped" || event.channel === undefined || !groups.has(event.channel.id)) continue;
    const text = eventLine(event);
    if (text) io.err(text);
  }
  const label = { name: conversation.conversation, dm: { participants: conversation.participants } };
  for (const text of messageListLines(label, messages)) io.out(text);
}

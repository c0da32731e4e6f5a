import { handleOfAcct, type MimiClient, normalizeAcct, type SubmittedChange } from "@mimi/client";
import { changeLabel, channelLabel, channelLine, eventLine, person } from "../format.js";
import type { Io } from "../io.js";
import { line, type TerminalText } from "../terminal.js";
import { UsageError } from "../usage.js";

const CHANNEL_USAGE =
  "mimi channel create <name> | add <channel> <user@domain> | remove <channel> <user@domain> | rename <channel> <name> | role <channel> <user@domain> admin|member | rotate <channel> | leave <channel>";

/** `mimi channel create|add|remove|rename ...`: changes wait (up to --wait seconds) for the channel's answer. */
export async function channelCommand(args: string[], io: Io, client: MimiClient, waitSeconds: number) {
  const [action, first, ...rest] = args;
  const second = rest.join(" ");
  switch (action) {
    case "create": {
      const name = [first, ...rest].join(" ");
      if (!first) throw new UsageError("mimi channel create <name>");
      const created = await client.createChannel(name);
      await settle(
        io,
        client,
        created.url,
        waitSeconds,
        line`created ${channelLabel(created)}  ${created.url}`,
      );
      return;
    }
    case "add":
    case "remove": {
      if (!first || !second || rest.length !== 1)
        throw new UsageError(`mimi channel ${action} <channel> <user@domain>`);
      const acct = normalizeAcct(second);
      const submitted: SubmittedChange =
        action === "add" ? await client.addMember(first, acct) : await client.removeMember(first, acct);
      const done =
        action === "add" ? line`added ${handleOfAcct(acct)} to` : line`removed ${handleOfAcct(acct)} from`;
      await settle(
        io,
        client,
        submitted.channel.url,
        waitSeconds,
        (epoch) => line`${done} ${channelLabel(submitted.channel)} (epoch ${epoch})`,
      );
      return;
    }
    case "rotate": {
      if (!first || rest.length > 0) throw new UsageError("mimi channel rotate <channel>");
      const submitted = await client.rotateKeys(first);
      await settle(
        io,
        client,
        submitted.channel.url,
        waitSeconds,
        (epoch) => line`updated your keys in ${channelLabel(submitted.channel)} (epoch ${epoch})`,
      );
      return;
    }
    case "leave": {
      if (!first || rest.length > 0) throw new UsageError("mimi channel leave <channel>");
      const left = await client.leave(first, { timeoutMs: waitSeconds * 1000 });
      if (left.outcome.status === "refused")
        throw new Error(
          `${channelLabelText(left.channel)}: the channel refused to let you leave: ${left.outcome.reason}`,
        );
      io.out(
        left.outcome.status === "left"
          ? line`left ${channelLabel(left.channel)}; its messages stay on this device`
          : line`submitted; ${channelLabel(left.channel)} has not answered yet (run mimi join later)`,
      );
      return;
    }
    case "rename": {
      if (!first || !second) throw new UsageError("mimi channel rename <channel> <name>");
      const before = await client.channel(first);
      const renamed = await client.rename(first, second);
      io.out(line`renamed ${channelLabel(before)} to ${channelLabel(renamed)}`);
      return;
    }
    case "role": {
      const [who, role] = rest;
      if (!first || !who || (role !== "admin" && role !== "member") || rest.length !== 2)
        throw new UsageError("mimi channel role <channel> <user@domain> admin|member");
      const acct = normalizeAcct(who);
      const submitted = await client.setRole(first, acct, role);
      const answer = await waitForAnswer(client, submitted.activityId, waitSeconds);
      if (answer?.type === "rejected")
        throw new Error(
          `${channelLabelText(submitted.channel)}: the channel rejected the role change: ${answer.reason}`,
        );
      io.out(
        answer === undefined
          ? line`submitted; ${channelLabel(submitted.channel)} has not answered yet (run mimi join later)`
          : line`${handleOfAcct(acct)} is now ${role === "admin" ? "an admin" : "a member"} of ${channelLabel(submitted.channel)}`,
      );
      return;
    }
    default:
      throw new UsageError(CHANNEL_USAGE);
  }
}

/** `#name`, raw: for error messages, which main.ts escapes when it prints them. */
const channelLabelText = (channel: { name: string }) => `#${channel.name}`;

/** Syncs until the channel accepted or rejected `activityId`, for at most `waitSeconds`. */
async function waitForAnswer(client: MimiClient, activityId: string, waitSeconds: number) {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    const round = await client.sync();
    const answer = round.events.find(
      (event) => (event.type === "accepted" || event.type === "rejected") && event.activityId === activityId,
    );
    if (answer || Date.now() >= deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Syncs until the channel answered; a final rejection becomes the command's error. */
async function settle(
  io: Io,
  client: MimiClient,
  url: string,
  waitSeconds: number,
  success: TerminalText | ((epoch: number) => TerminalText),
) {
  const result = await client.waitForChannel(url, { timeoutMs: waitSeconds * 1000 });
  for (const event of result.events) {
    const retried = event.type === "rejected" && event.retried ? eventLine(event) : undefined;
    if (retried) io.err(line`mimi: ${retried}`);
  }
  const finalRejection = result.events.findLast((e) => e.type === "rejected" && !e.retried);
  if (finalRejection && finalRejection.type === "rejected")
    throw new Error(
      `#${result.channel.name}: the channel rejected the ${changeLabel(finalRejection.what)}: ${finalRejection.reason}`,
    );
  if (!result.settled) {
    io.out(line`submitted; ${channelLabel(result.channel)} has not answered yet (run mimi join later)`);
    return;
  }
  io.out(typeof success === "function" ? success(result.channel.epoch) : success);
}

/** `mimi channels`: every channel of the account, from local state. */
export async function channelsCommand(args: string[], io: Io, client: MimiClient) {
  if (args.length > 0) throw new UsageError("mimi channels");
  const channels = await client.channels();
  if (channels.length === 0) io.out(line`no channels yet (mimi channel create <name>)`);
  for (const channel of channels) io.out(channelLine(channel));
}

/** `mimi members <channel>`: the MLS roster, and the followers the channel's server lists. */
export async function membersCommand(args: string[], io: Io, client: MimiClient) {
  const [reference] = args;
  if (!reference || args.length > 1) throw new UsageError("mimi members <channel>");
  const list = await client.members(reference);
  io.out(
    line`${channelLabel(list.channel)}: ${list.members.length} member${list.members.length === 1 ? "" : "s"}`,
  );
  for (const member of list.members) {
    const clients = `${member.clients.length} client${member.clients.length === 1 ? "" : "s"}`;
    const role = member.role ? line`  ${member.role}` : "";
    io.out(line`  ${person(member.acct)}${role}  ${clients}${member.actor ? line`  ${member.actor}` : ""}`);
  }
  if (list.followers) io.out(line`followers on the channel's server: ${list.followers.length}`);
  else
    io.err(
      line`mimi: warning: cannot read the channel's followers: ${list.followersError ?? "unknown error"}`,
    );
}

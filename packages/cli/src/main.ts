import { parseArgs } from "node:util";
import { isSessionEnded, mimiHome, StateStore } from "@mimi/client";
import { clientFor } from "./client.js";
import { ACCOUNT_USAGE, accountCommand, accountDeleteCommand } from "./commands/account.js";
import { channelCommand, channelsCommand, membersCommand } from "./commands/channel.js";
import {
  acceptCommand,
  blockCommand,
  blocksCommand,
  consentCommand,
  declineCommand,
  invitesCommand,
  unblockCommand,
} from "./commands/contacts.js";
import { deviceCommand, keyPackagesCommand } from "./commands/device.js";
import { dmCommand, dmsCommand } from "./commands/dm.js";
import {
  deleteCommand,
  editCommand,
  inboxCommand,
  joinCommand,
  listenCommand,
  reactCommand,
  readCommand,
  replyCommand,
  sendCommand,
} from "./commands/messaging.js";
import { logoutCommand, passwordCommand, sessionEndedLine, sessionsCommand } from "./commands/session.js";
import { whoamiCommand } from "./commands/whoami.js";
import { type Io, processIo } from "./io.js";
import { line } from "./terminal.js";
import { HELP, UsageError } from "./usage.js";

const CLIENT_COMMANDS = new Set([
  "device",
  "keypackages",
  "channel",
  "channels",
  "members",
  "send",
  "reply",
  "edit",
  "react",
  "delete",
  "read",
  "dm",
  "dms",
  "join",
  "sync",
  "listen",
  "inbox",
  "logout",
]);

/** `account` actions that use the stored token (the others sign in with a password). */
const ACCOUNT_SESSION_ACTIONS = new Set(["password", "sessions", "delete", "consent"]);

/** Runs one `mimi` invocation and returns the exit code; errors are one readable line. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        server: { type: "string" },
        as: { type: "string" },
        device: { type: "string" },
        wait: { type: "string" },
        after: { type: "string" },
        json: { type: "boolean" },
        everywhere: { type: "boolean" },
        session: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    // node's messages for option mistakes span several lines; the first one names the problem.
    const message = error instanceof Error ? error.message : String(error);
    io.err(line`mimi: ${message.split("\n")[0] ?? ""}`);
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  const flags = parsed.values as Record<string, string | boolean>;
  if (!command || flags.help) {
    io.out(HELP);
    return command || flags.help ? 0 : 2;
  }
  const state = new StateStore(mimiHome(io.env));
  const as = typeof flags.as === "string" ? flags.as : undefined;
  try {
    switch (command) {
      case "account":
        if (rest[0] === "consent") {
          await consentCommand(rest.slice(1), io, state, as);
          return 0;
        }
        if (ACCOUNT_SESSION_ACTIONS.has(rest[0] ?? "")) {
          if (rest.length > 1) throw new UsageError(ACCOUNT_USAGE);
          await clientCommand(`account ${rest[0]}`, [], flags, io, as);
        } else await accountCommand(rest, flags, io, state);
        return 0;
      case "whoami":
        await whoamiCommand(io, state, as);
        return 0;
      case "block":
        await blockCommand(rest, io, state, as);
        return 0;
      case "unblock":
        await unblockCommand(rest, io, state, as);
        return 0;
      case "blocks":
        await blocksCommand(rest, io, state, as);
        return 0;
      case "invites":
        await invitesCommand(rest, io, state, as);
        return 0;
      case "accept":
        await acceptCommand(rest, io, state, as);
        return 0;
      case "decline":
        await declineCommand(rest, io, state, as);
        return 0;
      default:
        if (!CLIENT_COMMANDS.has(command)) {
          io.err(line`mimi: unknown command ${command} (see mimi --help)`);
          return 2;
        }
        await clientCommand(command, rest, flags, io, as);
        return 0;
    }
  } catch (error) {
    // A 401 on the stored token (not a wrong password at login): only logging in again helps.
    const signsIn = command === "account" && !ACCOUNT_SESSION_ACTIONS.has(rest[0] ?? "");
    if (isSessionEnded(error) && !signsIn) {
      io.err(line`mimi: ${await sessionEndedLine(state, as)}`);
      return 1;
    }
    // Error messages can carry a server's or a peer's words: escaped like everything else.
    io.err(line`mimi: ${error instanceof Error ? error.message : String(error)}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

async function clientCommand(
  command: string,
  args: string[],
  flags: Record<string, string | boolean>,
  io: Io,
  as: string | undefined,
) {
  const waitSeconds = typeof flags.wait === "string" ? Number(flags.wait) : 10;
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0) throw new UsageError("--wait <seconds> (a number)");
  const client = clientFor(io, as);
  try {
    switch (command) {
      case "device":
        return await deviceCommand(args, io, client);
      case "keypackages":
        return await keyPackagesCommand(args, io, client);
      case "channel":
        return await channelCommand(args, io, client, waitSeconds);
      case "channels":
        return await channelsCommand(args, io, client);
      case "members":
        return await membersCommand(args, io, client);
      case "send":
        return void (await sendCommand(args, io, client));
      case "reply":
        return await replyCommand(args, io, client);
      case "edit":
        return await editCommand(args, io, client);
      case "react":
        return await reactCommand(args, io, client);
      case "delete":
        return await deleteCommand(args, io, client);
      case "read":
        return await readCommand(args, io, client);
      case "dm":
        return await dmCommand(args, io, client, waitSeconds);
      case "dms":
        return await dmsCommand(args, io, client);
      case "join":
      case "sync":
        return await joinCommand(args, io, client);
      case "listen":
        return await listenCommand(args, io, client);
      case "inbox":
        return await inboxCommand(args, io, client, {
          ...(typeof flags.after === "string" ? { after: flags.after } : {}),
          json: flags.json === true,
        });
      case "logout":
        return await logoutCommand(args, flags, io, client);
      case "account password":
        return await passwordCommand(io, client);
      case "account sessions":
        return await sessionsCommand(io, client);
      case "account delete":
        return await accountDeleteCommand(io, client, waitSeconds);
    }
  } finally {
    await client.close();
  }
}
